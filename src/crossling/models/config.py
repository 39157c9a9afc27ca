"""Model stage config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crossling.config_marks import LOCATION, SPEED_ONLY
from crossling.fields import Strict

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."


class ModelConfig(BaseModel):
    """Which chat model to load, and how."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        "smollm2-135m",
        description="Packaged alias (smollm2-135m, gemma3-270m), Hugging Face hub id "
        "(Qwen/Qwen2.5-0.5B-Instruct), local checkpoint folder, or a .gguf file (any "
        "architecture transformers reads from GGUF; converted once into the cache, keyed by "
        "the file's content).",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto: float32 on CPU, bfloat16 on GPUs that support it."
    )
    device: str = Field("auto", description="auto, cpu, cuda, cuda:1, mps ...",
        json_schema_extra=SPEED_ONLY)
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit).")
    trust_remote_code: bool = Field(
        False, description="Run model code from the hub. Opt-in: it executes remote Python."
    )
    chat_template: str | None = Field(
        None, description="Jinja chat template overriding the tokenizer's (or the alias default)."
    )
    system_prompt: str | None = Field(
        DEFAULT_SYSTEM_PROMPT,
        description="System turn of every prompt (the seed study used this one); null for none.",
    )
    layers_path: str | None = Field(
        None,
        description="Dotted path to the decoder layer list (e.g. 'model.layers') for model "
        "families crossling does not know.",
    )
    threads: int | None = Field(None, description="torch CPU threads; null keeps torch's default.",
        json_schema_extra=SPEED_ONLY)
    allow_base: bool = Field(
        False,
        description="Allow a packaged base (not instruction-tuned) model such as gemma3-270m: "
        "it answers chat prompts by echoing them, so studies refuse it unless this is true "
        "(the report then says so).",
    )

    @model_validator(mode="after")
    def _chat_model(self) -> ModelConfig:
        from crossling.models.packaged import PACKAGED

        if self.name in PACKAGED and not PACKAGED.get(self.name).instruct and not self.allow_base:
            raise ValueError(
                f"'{self.name}' is a base model, not instruction-tuned: asked through a chat "
                "template it echoes the prompt; use smollm2-135m or an instruct model, or set "
                "model.allow_base: true to study it anyway"
            )
        return self


class WithModel(Strict):
    """A config that loads the base chat model."""

    model: ModelConfig = Field(
        default_factory=lambda: ModelConfig.model_validate({}),
        description="The base chat model (alias, hub id, local folder) and how to load it.",
    )


class WithAdapters(Strict):
    """A config that reads several trained LoRA adapters."""

    adapters: dict[str, str] = Field(
        default_factory=dict,
        description="Adapter name → adapter folder (or the training folder holding adapter/); "
        "the training language is read from its crossling_adapter.json.",
        json_schema_extra=LOCATION,
    )
