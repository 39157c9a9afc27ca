"""Model loading, packaged offline models, decoder-layer lookup and chat formatting."""

from crossling.models.adapters import (
    ADAPTER_META_FILE,
    AdapterMeta,
    check_adapter_base,
    load_adapter,
    read_adapter_meta,
    write_adapter_meta,
)
from crossling.models.chat import (
    IGNORE_INDEX,
    build_example,
    end_of_turn_id,
    labelled_text,
    render_prompt,
)
from crossling.models.config import ModelConfig
from crossling.models.layers import get_decoder_layers, num_layers, unwrap
from crossling.models.loading import LoadedModel, load_model, load_tokenizer, model_spec
from crossling.models.packaged import PACKAGED, ensure_converted

__all__ = [
    "ADAPTER_META_FILE",
    "IGNORE_INDEX",
    "PACKAGED",
    "AdapterMeta",
    "LoadedModel",
    "ModelConfig",
    "build_example",
    "check_adapter_base",
    "end_of_turn_id",
    "ensure_converted",
    "get_decoder_layers",
    "labelled_text",
    "load_adapter",
    "load_model",
    "load_tokenizer",
    "model_spec",
    "num_layers",
    "read_adapter_meta",
    "render_prompt",
    "unwrap",
    "write_adapter_meta",
]
