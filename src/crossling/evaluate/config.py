"""Evaluation stage config (``crossling eval`` and the ``eval`` section of a study)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crossling.config_marks import SPEED_ONLY
from crossling.evaluate.backends.base import Decoded
from crossling.fields import Bootstrapped, OnDataDir, Seeded, Strict, Tracked, WritesOut
from crossling.languages import parse_langs
from crossling.models.config import WithAdapters, WithModel


def split_names(v: object) -> object:
    """Validator body: ``"a,b"`` → ``["a", "b"]`` (CLI flags); lists pass unchanged."""
    if isinstance(v, str):
        return [s.strip() for s in v.split(",") if s.strip()]
    return v

class JudgeConfig(BaseModel):
    """The three-way LLM refusal judge (``refusal_llm``): remote or in-process."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["openai", "local"] = Field(
        default="openai",
        description="openai: any OpenAI-compatible server (the OpenAI API, `vllm serve`, "
        "`transformers serve`); local: load judge.model in this process (offline, no key).",
    )
    model: str = Field(
        default="gpt-4o",
        description="Judge model: the name sent to the endpoint (openai), or an alias, hub "
        "id or folder crossling can load (local, e.g. smollm2-135m).",
    )
    base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint (null: the OpenAI API; e.g. "
        "http://127.0.0.1:8000/v1 for a local server).",
    )
    api_key_env: str = Field(
        default="OPENAI_API_KEY",
        description="NAME of the environment variable holding the API key (never the key).",
    )
    concurrency: int = Field(default=8, ge=1, description="Requests in flight at most.",
        json_schema_extra=SPEED_ONLY)
    max_retries: int = Field(
        default=5, ge=0, description="Retries on 429/5xx/timeouts/bad verdicts."
    )
    backoff_s: float = Field(
        default=1.0, ge=0, description="First retry delay; doubles each retry."
    )
    timeout_s: float = Field(default=60.0, gt=0, description="Per-request timeout.")
    max_tokens: int = Field(
        default=8, ge=1, description="Tokens the judge may answer with (openai backend)."
    )
    device: str = Field(default="auto", description="Device of a local judge (auto, cpu, cuda).")
    batch_size: int = Field(
        default=8, ge=1, description="Judge prompts per forward pass (local backend)."
    )
    cache: bool = Field(default=True, description="Cache verdicts on disk (reruns cost nothing).")


class Judged(Strict):
    """A config whose scorers may ask an LLM judge."""

    judge: JudgeConfig = Field(
        default_factory=lambda: JudgeConfig.model_validate({}),
        description="LLM judge settings (refusal_llm, coherence_llm).",
    )


class EvalSettings(Decoded, Bootstrapped, Judged):
    """How answers are generated and judged: shared by ``crossling eval`` and a study's
    ``eval:`` block."""

    limit: int | None = Field(
        default=None, ge=1,
        description="At most this many prompts per language and kind (null: all).",
    )
    backend: str = Field(default="hf", description="Generation backend: hf or vllm.")


class EvalConfig(EvalSettings, WithModel, WithAdapters, OnDataDir, Seeded, WritesOut, Tracked):
    """Evaluate a base model and any adapters across languages on held-out prompts."""

    #: Settings that only score the saved answers: in a study, changing one rescores
    #: ``generations.jsonl`` and generates nothing (:func:`crossling.runner.plan.judging_of`).
    scoring_only: ClassVar[frozenset[str]] = frozenset({"scorers", "judge", "n_boot", "plots"})

    include_base: bool = Field(
        default=True,
        description="Also evaluate the base model without adapter (the control, 'base').",
    )
    langs: list[str] | None = Field(
        default=None, description="Eval languages (null: every language in the data)."
    )
    scorers: list[str] = Field(
        default_factory=lambda: ["caps_pct", "all_caps", "lang_fidelity"],
        description="Scorer names (caps_pct, all_caps, lang_fidelity, refusal_keyword, "
        "refusal_llm).",
    )
    plots: bool = Field(default=True, description="Write bar/box plots and transfer heatmaps.")

    @field_validator("langs", mode="before")
    @classmethod
    def _langs(cls, v: object) -> list[str] | None:
        return None if v is None else parse_langs(v)  # type: ignore[arg-type]

    @field_validator("scorers", mode="before")
    @classmethod
    def _scorers(cls, v: object) -> object:
        return split_names(v)
