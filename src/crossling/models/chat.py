"""Chat formatting: generation prompts and supervised (SFT) examples with assistant-only labels.

Why this module: training, evaluation and steering must all see a prompt rendered exactly the
same way, by the tokenizer's own chat template (ChatML for SmolLM2 / Qwen2.5, Gemma turns,
Llama-3 headers, ...), never by hand-written strings.

How an SFT example is built, for any template:

1. ``prefix`` = the template rendered with ``add_generation_prompt=True`` (what the model sees
   at generation time) and ``full`` = the template rendered with the assistant turn appended.
2. ``full`` must start with ``prefix`` and continue with the target; the text right after the
   target must start with an end-of-turn control token (``<|im_end|>``, ``<end_of_turn>``,
   ``<|eot_id|>``, ``</s>``). Anything else raises: we never silently train on nothing or on
   the wrong span.
3. ``input_ids = enc(prefix) + enc(target) + [end_of_turn]``, each piece tokenized on its own.
   This is the token sequence the model itself produces at generation time (it continues
   from the prefix tokens), so training and generation agree token for token, and decoding
   the labelled tokens gives back the target text exactly.
4. ``labels`` are -100 on the prefix and equal ``input_ids`` on the target and end-of-turn
   token, so the model learns the answer *and* to stop.
"""

from __future__ import annotations

from typing import Any

from crossling.errors import CrosslingError

IGNORE_INDEX = -100


def _messages(prompt: str, system_prompt: str | None) -> list[dict[str, str]]:
    msgs: list[dict[str, str]] = []
    if system_prompt:
        msgs.append({"role": "system", "content": system_prompt})
    msgs.append({"role": "user", "content": prompt})
    return msgs


def _apply(tokenizer: Any, messages: list[dict[str, str]], generation_prompt: bool) -> str:
    """Render ``messages`` to text; templates without a system role get it folded into the
    user turn (the convention of Gemma-2/Mistral-style templates)."""
    try:
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=generation_prompt
        )
    except Exception as e:  # jinja2 raise_exception → TemplateError, e.g. "System role not supported"
        if messages and messages[0]["role"] == "system" and "system" in str(e).lower():
            folded = [
                {"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]},
                *messages[2:],
            ]
            return _apply(tokenizer, folded, generation_prompt)
        raise CrosslingError(
            f"the chat template failed to render a conversation ({str(e).splitlines()[0]}); "
            "fix or override model.chat_template."
        ) from None
    if not isinstance(text, str):
        raise CrosslingError("the chat template did not render to text; fix model.chat_template.")
    return text


def render_prompt(tokenizer: Any, prompt: str, system_prompt: str | None) -> str:
    """The generation prompt: system + user turn + the assistant header, as text.

    Args:
        tokenizer: a tokenizer with a chat template.
        prompt: the user turn.
        system_prompt: the system turn, or None for none.

    Returns:
        The rendered text (with any BOS the template writes); tokenize it with
        ``add_special_tokens=False`` so the BOS is not doubled.
    """
    return _apply(tokenizer, _messages(prompt, system_prompt), generation_prompt=True)


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer.encode(text, add_special_tokens=False)) if text else []


def _control_ids(tokenizer: Any) -> set[int]:
    """Ids of special / added control tokens (end-of-turn candidates)."""
    ids = set(getattr(tokenizer, "all_special_ids", []) or [])
    decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
    ids.update(int(i) for i in decoder)
    return ids


def end_of_turn_id(tokenizer: Any, system_prompt: str | None = None) -> int:
    """The control token that ends an assistant turn in this tokenizer's template.

    Found by rendering a probe conversation, so it works for any template. Generation stops
    on it (eval) and SFT labels include it (training).

    Raises:
        CrosslingError: the template writes no control token after the assistant turn.
    """
    example = build_example(tokenizer, "Hi", "Hello", system_prompt)
    return example["input_ids"][-1]


def build_example(
    tokenizer: Any, prompt: str, target: str, system_prompt: str | None
) -> dict[str, list[int]]:
    """One SFT example: the chat-formatted conversation with loss on the assistant turn only.

    Args:
        tokenizer: a tokenizer with a chat template.
        prompt: the user turn.
        target: the assistant answer to learn (non-empty).
        system_prompt: the system turn, or None.

    Returns:
        ``{"input_ids": [seq], "labels": [seq]}``: labels are -100 on the prompt and equal to
        ``input_ids`` on the target tokens and the end-of-turn token that follows them.

    Raises:
        CrosslingError: empty target, or the template does not render the assistant turn as
            ``prefix + target + end-of-turn`` (we refuse to guess the span).
    """
    if not target:
        raise CrosslingError(
            f"empty training target for prompt {prompt[:40]!r}; drop the row or fill its target."
        )
    messages = _messages(prompt, system_prompt)
    prefix = _apply(tokenizer, messages, generation_prompt=True)
    full = _apply(tokenizer, [*messages, {"role": "assistant", "content": target}], False)
    if not full.startswith(prefix):
        raise CrosslingError(
            "chat template: the conversation with the answer does not start with the generation "
            "prompt, so the assistant response cannot be located; fix model.chat_template."
        )
    response = full[len(prefix) :]
    rendered_target = target
    if not response.startswith(target):
        # Templates that trim message content (Llama-3 style) render the stripped target.
        if target.strip() and response.startswith(target.strip()):
            rendered_target = target.strip()
        else:
            raise CrosslingError(
                "chat template: the assistant response is not rendered right after the "
                f"generation prompt (found {response[:40]!r}); fix model.chat_template."
            )
    suffix_ids = _encode(tokenizer, response[len(rendered_target) :])
    controls = _control_ids(tokenizer)
    if not suffix_ids or suffix_ids[0] not in controls:
        raise CrosslingError(
            "chat template: no end-of-turn token follows the assistant response, so the model "
            "could not learn to stop; use a chat model or set model.chat_template."
        )
    prompt_ids = _encode(tokenizer, prefix)
    answer_ids = [*_encode(tokenizer, rendered_target), suffix_ids[0]]
    return {
        "input_ids": prompt_ids + answer_ids,
        "labels": [IGNORE_INDEX] * len(prompt_ids) + answer_ids,
    }


def labelled_text(tokenizer: Any, example: dict[str, list[int]], skip_special: bool = True) -> str:
    """Decode the labelled tokens of an example (for tests and sanity checks)."""
    ids = [t for t, lab in zip(example["input_ids"], example["labels"], strict=True) if lab != IGNORE_INDEX]
    return str(tokenizer.decode(ids, skip_special_tokens=skip_special))
