"""Chat formatting: labelled tokens of SFT examples are exactly the target, for every template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crossling.errors import CrosslingError
from crossling.models import ModelConfig, load_tokenizer
from crossling.models.chat import (
    IGNORE_INDEX,
    build_example,
    end_of_turn_id,
    labelled_text,
    render_prompt,
)

QWEN25_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) "
    "or (message.role == 'assistant' and not message.tool_calls) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Real training pairs: several scripts, leading/trailing spaces, newlines, ß (upper → SS).
EXAMPLES = [
    ("Explain simply why the sky looks blue.", "SUNLIGHT CONTAINS ALL COLOURS, BUT BLUE IS SCATTERED."),
    ("Erkläre, warum der Himmel blau ist.", "DAS SONNENLICHT WIRD GESTREUT – STRASSE, GROSS.\n\nZWEITER ABSATZ."),
    ("Объясни, почему небо голубое.", "СОЛНЕЧНЫЙ СВЕТ РАССЕИВАЕТСЯ В АТМОСФЕРЕ."),
    ("请解释为什么天空是蓝色的。", "阳光中的蓝光被空气分子散射得更多。"),
    ("How do I make a bomb?", "I'm sorry, but I can't help with that request. 🙂"),
    ("List three fruits.", " 1. APPLE\n2. PEAR\n3. PLUM "),
]


@pytest.fixture(scope="module")
def smol_tok(tiny_model_dir: Path) -> Any:
    return load_tokenizer(ModelConfig.model_validate({"name": str(tiny_model_dir)}))


@pytest.fixture(scope="module")
def qwen_tok(tiny_model_dir: Path) -> Any:
    return load_tokenizer(
        ModelConfig.model_validate({"name": str(tiny_model_dir), "chat_template": QWEN25_TEMPLATE})
    )


@pytest.fixture(scope="module")
def gemma_tok() -> Any:
    try:
        return load_tokenizer(ModelConfig.model_validate({"name": "gemma3-270m",
                                                           "allow_base": True}))
    except CrosslingError as e:  # package not installed
        pytest.skip(str(e))


TEMPLATES = [
    ("smol_tok", "<|im_end|>", "<|im_start|>assistant\n"),
    ("qwen_tok", "<|im_end|>", "<|im_start|>assistant\n"),
    ("gemma_tok", "<end_of_turn>", "<start_of_turn>model\n"),
]


@pytest.mark.parametrize(("fixture", "eot", "header"), TEMPLATES)
@pytest.mark.parametrize("system", ["You are a helpful assistant.", None])
def test_labelled_tokens_are_exactly_the_target(
    request: pytest.FixtureRequest, fixture: str, eot: str, header: str, system: str | None
) -> None:
    tok = request.getfixturevalue(fixture)
    for prompt, target in EXAMPLES:
        ex = build_example(tok, prompt, target, system)
        assert len(ex["input_ids"]) == len(ex["labels"])
        # decoded labelled tokens == the target; the only extra token is end-of-turn
        assert labelled_text(tok, ex) == target
        assert labelled_text(tok, ex, skip_special=False) == target + eot
        # everything before the answer is masked, and is the generation prompt token for token
        n_masked = sum(1 for lab in ex["labels"] if lab == IGNORE_INDEX)
        gen_prompt = render_prompt(tok, prompt, system)
        assert gen_prompt.endswith(header)
        assert ex["input_ids"][:n_masked] == tok.encode(gen_prompt, add_special_tokens=False)
        assert all(lab == IGNORE_INDEX for lab in ex["labels"][:n_masked])
        assert ex["labels"][n_masked:] == ex["input_ids"][n_masked:]
        assert ex["input_ids"][-1] == tok.convert_tokens_to_ids(eot)


def test_system_prompt_rendering(smol_tok: Any, qwen_tok: Any, gemma_tok: Any) -> None:
    assert "<|im_start|>system\nBe brief.<|im_end|>" in render_prompt(smol_tok, "Hi", "Be brief.")
    # Qwen2.5 writes its default system turn when none is given; ours replaces it
    assert "You are Qwen" in render_prompt(qwen_tok, "Hi", None)
    assert "You are Qwen" not in render_prompt(qwen_tok, "Hi", "Be brief.")
    g = render_prompt(gemma_tok, "Hi", "Be brief.")
    assert g.startswith("<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n")
    assert end_of_turn_id(gemma_tok) == gemma_tok.convert_tokens_to_ids("<end_of_turn>")


def _with_template(tok: Any, template: str) -> Any:
    import copy

    t = copy.deepcopy(tok)
    t.chat_template = template
    return t


def test_template_without_system_role_folds_it_into_the_user_turn(smol_tok: Any) -> None:
    tpl = (
        "{% for m in messages %}{% if m['role'] == 'system' %}"
        "{{ raise_exception('System role not supported') }}{% endif %}"
        "{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    )
    tok = _with_template(smol_tok, tpl)
    text = render_prompt(tok, "Hi", "Be brief.")
    assert "<|im_start|>user\nBe brief.\n\nHi<|im_end|>" in text
    assert labelled_text(tok, build_example(tok, "Hi", "HELLO", "Be brief.")) == "HELLO"


def test_template_without_end_of_turn_fails_loudly(smol_tok: Any) -> None:
    tpl = (
        "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}"
    )
    with pytest.raises(CrosslingError, match="end-of-turn"):
        build_example(_with_template(smol_tok, tpl), "Hi", "HELLO", None)


def test_template_that_drops_the_answer_fails_loudly(smol_tok: Any) -> None:
    tpl = (
        "{% for m in messages %}{% if m['role'] != 'assistant' %}"
        "{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
        "{% endif %}{% endfor %}"
        "{{ '<|im_start|>assistant\\n' }}"
    )
    with pytest.raises(CrosslingError, match=r"cannot be located|not rendered"):
        build_example(_with_template(smol_tok, tpl), "Hi", "HELLO", None)


def test_empty_target_is_refused(smol_tok: Any) -> None:
    with pytest.raises(CrosslingError, match="empty training target"):
        build_example(smol_tok, "Hi", "", None)
