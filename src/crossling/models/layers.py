"""Find the decoder layers (the residual stream) of a model.

Why one function: training targets, steering hooks and activation recording all need the
same layer list. Families map to an attribute path by ``config.model_type``, never by
matching substrings of a model name; unknown families need an explicit ``layers_path``.
"""

from __future__ import annotations

from typing import Any

from crossling.errors import CrosslingError

# config.model_type -> dotted path from the *base* causal LM to its decoder layer list.
LAYER_PATHS: dict[str, str] = {
    "llama": "model.layers",
    "qwen2": "model.layers",
    "qwen3": "model.layers",
    "mistral": "model.layers",
    "gemma": "model.layers",
    "gemma2": "model.layers",
    "gemma3_text": "model.layers",
    "gemma3": "model.language_model.layers",
    "phi3": "model.layers",
}


def unwrap(model: Any) -> Any:
    """The underlying transformers model of a PeftModel (or the model itself)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def text_config(model_or_config: Any) -> Any:
    """The language model's config: of a (peft-wrapped) model or a config itself, and the
    ``text_config`` inside it for multimodal wrappers (Gemma 3)."""
    cfg = getattr(unwrap(model_or_config), "config", model_or_config)
    return getattr(cfg, "text_config", None) or cfg


def get_decoder_layers(model: Any, layers_path: str | None = None) -> Any:
    """Return the ``nn.ModuleList`` of decoder layers.

    Args:
        model: a transformers causal LM or a PeftModel wrapping one.
        layers_path: explicit dotted path (overrides the family table).

    Raises:
        CrosslingError: unknown family without an override, or a path that does not lead to
            a layer list.
    """
    import torch

    base = unwrap(model)
    model_type = getattr(base.config, "model_type", "?")
    path = layers_path or LAYER_PATHS.get(model_type)
    if path is None:
        raise CrosslingError(
            f"crossling does not know where the decoder layers of model_type '{model_type}' "
            "are; set model.layers_path (e.g. 'model.layers')."
        )
    obj = base
    for part in path.split("."):
        if not hasattr(obj, part):
            raise CrosslingError(
                f"layers_path '{path}' does not exist on {type(base).__name__} "
                f"(no attribute '{part}'); fix model.layers_path."
            )
        obj = getattr(obj, part)
    if not isinstance(obj, torch.nn.ModuleList) or len(obj) == 0:
        raise CrosslingError(f"layers_path '{path}' is not a non-empty ModuleList; fix it.")
    return obj


def num_layers(model: Any, layers_path: str | None = None) -> int:
    return len(get_decoder_layers(model, layers_path))
