"""Load any supported chat model: packaged alias, hub id, local folder or GGUF file."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from crossling.errors import CrosslingError
from crossling.models.config import ModelConfig
from crossling.models.packaged import (
    PACKAGED,
    ensure_converted,
    ensure_gguf_converted,
    gguf_file,
    is_gguf_name,
)


@dataclass
class LoadedModel:
    """A model with its tokenizer.

    Attributes:
        model: the causal LM (``PreTrainedModel``; a ``PeftModel`` once adapters are added).
        tokenizer: left-padding tokenizer with a chat template and a pad token.
        spec: canonical name of the base model; adapters record it and are checked against it.
        config: the config it was loaded from.
    """

    model: Any
    tokenizer: Any
    spec: str
    config: ModelConfig

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device


def resolve_device_dtype(cfg: ModelConfig) -> tuple[str, Any]:
    """fp32 on CPU (bf16 is ~100x slower on these CPUs); bf16 on GPUs that support it.

    ``auto`` values can be pinned from the environment (``CROSSLING_DEVICE``,
    ``CROSSLING_DTYPE``): the test suite runs on the device its fixture chooses that way,
    and a user can keep a job on one GPU without editing configs.
    """
    import os

    import torch

    device = cfg.device
    if device == "auto":
        device = os.environ.get("CROSSLING_DEVICE", "auto") or "auto"
    dtype: str = cfg.dtype
    if dtype == "auto":
        dtype = os.environ.get("CROSSLING_DTYPE", "auto") or "auto"
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    if dtype != "auto":
        return device, getattr(torch, dtype)
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return device, torch.bfloat16
    return device, torch.float32


def model_spec(cfg: ModelConfig) -> str:
    """Canonical base-model name: the alias, the hub id, the resolved local path, or for a
    GGUF file ``gguf:<sha256[:16]>`` of its content (a copied or moved file is the same
    model, so adapters trained on it still load).

    Raises:
        CrosslingError: a GGUF file that is missing or no GGUF.
    """
    if cfg.name in PACKAGED:
        return cfg.name
    if is_gguf_name(cfg.name):
        return gguf_file(cfg.name).spec
    path = Path(cfg.name).expanduser()
    if path.exists():
        return str(path.resolve())
    return cfg.name


def base_hub_id(name: str) -> str | None:
    """The hub id an adapter on model ``name`` names as its base model, so it loads anywhere.

    Packaged aliases know theirs; a hub id is its own; a GGUF file has the one its metadata
    names (often none); a local folder has none (None).
    """
    if name in PACKAGED:
        return PACKAGED.get(name).hub_id
    if is_gguf_name(name):
        try:
            return gguf_file(name).hub_id
        except CrosslingError:  # the file is gone: nothing to name
            return None
    if Path(name).expanduser().exists() or name.startswith((".", "/", "~")):
        return None
    return name if name.count("/") == 1 else None


def check_model(cfg: ModelConfig) -> None:
    """Refuse a model that cannot load, without loading it: an alias whose package is not
    installed, a folder without config.json, a missing or unreadable GGUF file, a name that
    is none of alias, folder, GGUF file or hub id.

    Commands call it before they write anything (a hub id is only tried when loading).

    Raises:
        CrosslingError: one line naming the fix.
    """
    if cfg.name in PACKAGED:
        pm = PACKAGED.get(cfg.name)
        try:
            metadata.distribution(pm.package)
        except metadata.PackageNotFoundError:
            raise CrosslingError(
                f"model '{cfg.name}' needs the package {pm.package}; run: {pm.install}"
            ) from None
        return
    if is_gguf_name(cfg.name):
        gguf_file(cfg.name)
        return
    model_source(cfg)


def model_source(cfg: ModelConfig) -> str:
    """What ``from_pretrained`` loads for ``cfg``: the converted cache folder of an alias or
    a GGUF file (converting it on first use), a local folder, or a hub id.

    Raises:
        CrosslingError: one line naming the fix.
    """
    if cfg.name in PACKAGED:
        return str(ensure_converted(cfg.name))
    if is_gguf_name(cfg.name):
        return str(ensure_gguf_converted(cfg.name))
    path = Path(cfg.name).expanduser()
    if path.is_file():
        raise CrosslingError(
            f"model {path} is a file but not a .gguf; pass a GGUF file (*.gguf), a checkpoint "
            "folder saved by save_pretrained, a hub id, or an alias: "
            + ", ".join(PACKAGED.names())
        )
    if path.exists():
        if not (path / "config.json").exists():
            raise CrosslingError(
                f"model folder {path} has no config.json; pass a checkpoint folder saved by "
                "save_pretrained, a GGUF file, a hub id, or an alias: "
                + ", ".join(PACKAGED.names())
            )
        return str(path)
    looks_local = cfg.name.startswith((".", "/", "~")) or cfg.name.count("/") != 1
    if looks_local:
        raise CrosslingError(
            f"model '{cfg.name}' is neither a packaged alias ({', '.join(PACKAGED.names())}), "
            "an existing folder, a .gguf file, nor a hub id of the form owner/name."
        )
    return cfg.name


def load_tokenizer(cfg: ModelConfig, source: str | None = None) -> Any:
    """Tokenizer only (cheap): left padding, pad token, chat template override applied.

    ``source``: what :func:`model_source` returned for ``cfg``, when the caller has it.
    """
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(
        source or model_source(cfg), revision=cfg.revision,
        trust_remote_code=cfg.trust_remote_code,
    )
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if cfg.chat_template:
        tok.chat_template = cfg.chat_template
    if not tok.chat_template:
        raise CrosslingError(
            f"model '{cfg.name}' has no chat template; set model.chat_template in the config."
        )
    return tok


def load_model(cfg: ModelConfig | str) -> LoadedModel:
    """Load a causal LM and its tokenizer, ready for generation or LoRA training.

    Args:
        cfg: a ``ModelConfig`` or just a model name.

    Returns:
        LoadedModel in eval mode on the configured device and dtype.
    """
    import torch
    from transformers import AutoModelForCausalLM

    if isinstance(cfg, str):
        cfg = ModelConfig(name=cfg)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device, dtype = resolve_device_dtype(cfg)
    source = model_source(cfg)
    tok = load_tokenizer(cfg, source)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            source,
            dtype=dtype,
            revision=cfg.revision,
            trust_remote_code=cfg.trust_remote_code,
        )
    except OSError as e:
        raise CrosslingError(
            f"could not load model '{cfg.name}': {str(e).splitlines()[0]} "
            "(hub ids need network access; offline, use a local folder or a packaged alias)."
        ) from None
    model.to(torch.device(device))  # type: ignore[arg-type]
    model.eval()
    if model.generation_config is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tok.pad_token_id
    return LoadedModel(model=model, tokenizer=tok, spec=model_spec(cfg), config=cfg)
