"""Adapter metadata: which base model, task, language, seed and data an adapter came from.

Why: a LoRA adapter silently "loads" onto the wrong base model whenever the shapes happen to
match, and then produces garbage. crossling writes ``crossling_adapter.json`` beside every
adapter and checks it against the base model *before* any weight is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crossling.errors import CrosslingError
from crossling.io import atomic_write_json, read_json

ADAPTER_META_FILE = "crossling_adapter.json"


class AdapterMeta(BaseModel):
    """Provenance of one trained adapter (``crossling_adapter.json``)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(default="crossling-adapter", description="File type marker.")
    base_model: str = Field(..., description="Base model spec (models.model_spec).")
    task: str = Field(..., description="Task the adapter was trained on (caps, refusal, ...).")
    lang: str = Field(..., description="Training language code.")
    seed: int = Field(..., description="Training seed.")
    data_hash: str = Field(..., description="sha256 of the data manifest it was trained on.")
    steps: int = Field(default=0, description="Optimizer steps trained.")
    crossling_version: str = Field(default="", description="crossling version that wrote it.")


def write_adapter_meta(adapter_dir: Path, meta: AdapterMeta) -> Path:
    """Write ``crossling_adapter.json`` into ``adapter_dir`` (atomically)."""
    path = Path(adapter_dir) / ADAPTER_META_FILE
    atomic_write_json(path, meta.model_dump())
    return path


def read_adapter_meta(adapter_dir: Path) -> AdapterMeta:
    """Read an adapter's metadata.

    Raises:
        CrosslingError: the folder is missing or was not written by ``crossling train``.
    """
    adapter_dir = Path(adapter_dir)
    if not adapter_dir.is_dir():
        raise CrosslingError(
            f"adapter folder {adapter_dir} does not exist; pass the 'adapter' folder that "
            "crossling train wrote."
        )
    path = adapter_dir / ADAPTER_META_FILE
    if not path.exists():
        raise CrosslingError(
            f"{adapter_dir} has no {ADAPTER_META_FILE}, so it was not written by crossling "
            "train; pass a crossling adapter folder (TRAIN_OUT/adapter)."
        )
    try:
        return AdapterMeta.model_validate(read_json(path))
    except Exception as e:
        raise CrosslingError(
            f"{path} is not valid adapter metadata ({str(e).splitlines()[0]}); retrain the adapter."
        ) from None


def check_adapter_base(adapter_dir: Path, spec: str) -> None:
    """Refuse an adapter trained on another base model, before any weight is loaded.

    Args:
        adapter_dir: folder holding the adapter and its ``crossling_adapter.json``.
        spec: the base model's spec (``LoadedModel.spec`` / ``models.model_spec(cfg)``).

    Raises:
        CrosslingError: missing metadata, or the adapter's base model differs from ``spec``.
    """
    meta = read_adapter_meta(adapter_dir)
    if meta.base_model != spec:
        raise CrosslingError(
            f"adapter {adapter_dir} was trained on base model '{meta.base_model}', not "
            f"'{spec}'; load it with model '{meta.base_model}' or train an adapter for '{spec}'."
        )


def load_adapter(loaded: Any, adapter_dir: Path, adapter_name: str = "default") -> Any:
    """Attach a crossling adapter to a loaded base model, checking the base first.

    Args:
        loaded: a ``LoadedModel``.
        adapter_dir: the adapter folder.
        adapter_name: peft adapter name (several adapters can share one base model).

    Returns:
        The ``PeftModel`` (also stored back into ``loaded.model``), in eval mode.
    """
    from peft import PeftModel

    check_adapter_base(Path(adapter_dir), loaded.spec)
    model = loaded.model
    if isinstance(model, PeftModel):
        model.load_adapter(str(adapter_dir), adapter_name=adapter_name)
    else:
        model = PeftModel.from_pretrained(model, str(adapter_dir), adapter_name=adapter_name)
    model.eval()
    loaded.model = model
    return model
