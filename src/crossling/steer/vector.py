"""Per-layer language steering vectors: a tensor plus what it was made from.

Why metadata travels with the tensor: a vector is only meaningful for the model (hidden size,
layer count) and pooling it was recorded with; loading it onto another model must fail with
a message saying which dimension differs, not broadcast silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossling.errors import CrosslingError
from crossling.io import atomic_path, atomic_write_json, read_json
from crossling.paths import VectorDir

FORMAT = "crossling-steering-vectors/1"


class LayerVectors:
    """Shape accessors of a ``vectors`` tensor ``[n_layers, d_model]`` (language and
    behaviour vectors alike)."""

    vectors: Any

    @property
    def n_layers(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def hidden_size(self) -> int:
        return int(self.vectors.shape[1])

    def norms(self) -> list[float]:
        """L2 norm of each layer's vector."""
        return [float(x) for x in self.vectors.norm(dim=-1)]


@dataclass
class SteeringVectors(LayerVectors):
    """Direction ``target ← source`` at every decoder layer.

    Attributes:
        vectors: ``[n_layers, d_model]`` float32; row ``l`` is added to layer ``l``'s output.
        resid_norm: ``[n_layers]`` mean token residual norm at each layer (both languages);
            the unit of normalised strengths.
        target: language steered toward.
        source: language steered away from.
        model_spec: canonical base-model name the vectors were recorded on.
        n_prompts: parallel prompts used.
        ids_hash: sha256 of the sorted parallel ids used.
        position: pooling ('mean' or 'last').
        builder: builder name ('mean_diff', 'pca').
        item_ids: the parallel ids the vector was computed from (sorted), so a user can
            check that no test prompt is among them.
        extra: anything else worth recording (data source, system prompt).
    """

    vectors: Any
    resid_norm: Any
    target: str
    source: str
    model_spec: str
    n_prompts: int
    ids_hash: str
    position: str
    builder: str
    item_ids: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "target": self.target,
            "source": self.source,
            "model_spec": self.model_spec,
            "n_layers": self.n_layers,
            "hidden_size": self.hidden_size,
            "n_prompts": self.n_prompts,
            "ids_hash": self.ids_hash,
            "position": self.position,
            "builder": self.builder,
            "item_ids": list(self.item_ids),
            "norms": self.norms(),
            "resid_norm": [float(x) for x in self.resid_norm],
            **({"extra": self.extra} if self.extra else {}),
        }

    def save(self, vdir: VectorDir) -> Path:
        """Write ``<target>_from_<source>.safetensors`` and its ``.json`` (both atomic)."""
        from safetensors.torch import save_file

        path = vdir.vectors(self.target, self.source)
        meta = self.metadata()
        with atomic_path(path) as tmp:
            save_file(
                {
                    "vectors": self.vectors.float().contiguous().cpu(),
                    "resid_norm": self.resid_norm.float().contiguous().cpu(),
                },
                str(tmp),
                metadata={"crossling": json.dumps(meta)},
            )
        atomic_write_json(vdir.metadata(self.target, self.source), meta)
        return path

    @classmethod
    def load(cls, vdir: VectorDir, target: str, source: str) -> SteeringVectors:
        """Load ``target ← source`` from a VectorDir.

        Raises:
            CrosslingError: missing file (lists the pairs that exist) or a foreign file.
        """
        from safetensors.torch import load_file

        path = vdir.vectors(target, source)
        if not path.exists():
            have = sorted(p.stem.replace("_from_", "←") for p in vdir.root.glob("*.safetensors"))
            raise CrosslingError(
                f"no steering vector {target}←{source} in {vdir.root} (found: "
                f"{', '.join(have) or 'none'}); run 'crossling steer vectors' with both "
                "languages."
            )
        tensors = load_file(str(path))
        meta_path = vdir.metadata(target, source)
        meta = read_json(meta_path) if meta_path.exists() else {}
        if meta.get("format") != FORMAT:
            raise CrosslingError(
                f"{meta_path} is not crossling steering-vector metadata; recompute the vectors."
            )
        return cls(
            vectors=tensors["vectors"],
            resid_norm=tensors["resid_norm"],
            target=meta["target"],
            source=meta["source"],
            model_spec=meta["model_spec"],
            n_prompts=int(meta["n_prompts"]),
            ids_hash=meta["ids_hash"],
            position=meta["position"],
            builder=meta["builder"],
            item_ids=[str(i) for i in meta.get("item_ids", [])],
            extra=meta.get("extra", {}),
        )

    def check_model(self, model: Any, layers_path: str | None = None) -> None:
        """Fail unless these vectors fit ``model`` (same hidden size and layer count).

        Raises:
            CrosslingError: naming the dimension that differs.
        """
        from crossling.models.layers import get_decoder_layers, unwrap

        n_layers = len(get_decoder_layers(model, layers_path))
        cfg = unwrap(model).config
        hidden = getattr(cfg, "hidden_size", None)
        if hidden is None and hasattr(cfg, "get_text_config"):
            hidden = cfg.get_text_config().hidden_size
        if hidden != self.hidden_size:
            raise CrosslingError(
                f"steering vector {self.target}←{self.source} has hidden size "
                f"{self.hidden_size} but the model has {hidden} (vectors were made on "
                f"'{self.model_spec}'); recompute them for this model."
            )
        if n_layers != self.n_layers:
            raise CrosslingError(
                f"steering vector {self.target}←{self.source} has {self.n_layers} layers but "
                f"the model has {n_layers} (vectors were made on '{self.model_spec}'); "
                "recompute them for this model."
            )
