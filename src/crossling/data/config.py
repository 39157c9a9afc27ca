"""Data stage config: which task, which source, which languages, how to split."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crossling.fields import OfTask, Seeded
from crossling.languages import parse_langs
from crossling.tasks.defined import TaskDefinition, read_definition

#: Languages of the built-in corpus (crossling/data/builtin/*.jsonl).
BUILTIN_LANGS = ("en", "de", "ru", "bg", "es", "fr", "zh")


class ColumnMap(BaseModel):
    """Column names in a local or hub source (the defaults fit Alpaca and crossling files)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field("id", description="Parallel item id (wide files: optional, row index else).")
    lang: str = Field("lang", description="Language code column (long format only).")
    instruction: str = Field("instruction", description="The request / instruction text.")
    input: str = Field("input", description="Optional extra input (Alpaca); may be absent.")
    output: str = Field("output", description="Optional reference response; may be absent.")


class DataConfig(OfTask, Seeded):
    """How ``crossling data build`` makes (prompt, target) rows for one task; ``seed`` seeds
    the split, the training sample and refusal-sentence draws."""
    source: str = Field(
        "builtin",
        description="builtin (the task's built-in corpus), builtin:instructions, builtin:harmful, "
        "alpaca (yahma/alpaca-cleaned + pinzhenchen translations), sorry-bench, hf:<dataset>, "
        "or a local .json/.jsonl/.csv/.parquet file (long or wide format).",
    )
    train_langs: list[str] = Field(["en"], description="Languages that get training rows.")
    eval_langs: list[str] = Field(
        ["en", "de", "ru", "bg", "es", "fr"], description="Languages of the held-out eval prompts."
    )
    eval_size: int = Field(30, ge=1, description="Parallel ids held out (in every language).")
    train_size: int | None = Field(
        None, ge=1,
        description="Cap on training rows per language: a sample seeded by 'seed' (null: all "
        "remaining ids)."
    )
    responses: Literal["source", "self"] = Field(
        "source",
        description="caps targets: 'source' uppercases the source's output; 'self' leaves them "
        "for the trainer to fill with the base model's own answers (uppercased).",
    )
    format: Literal["auto", "long", "wide"] = Field(
        "auto", description="Local file layout: long (id, lang, ...) or wide (one column per "
        "language code); auto decides from the columns.",
    )
    columns: ColumnMap = Field(default_factory=ColumnMap, description="Column names.")
    harmless_source: str | None = Field(
        "builtin:instructions",
        description="Refusal task only: harmless prompts for the over-refusal check.",
    )
    alpaca_repos: dict[str, str] = Field(
        default_factory=lambda: {
            "en": "yahma/alpaca-cleaned",
            **{c: f"pinzhenchen/alpaca-cleaned-{c}" for c in ("ru", "bg", "de", "es", "fr")},
        },
        description="Dataset per language for source 'alpaca' (hub names or local folders).",
    )
    sorry_bench_repo: str = Field(
        "sorry-bench/sorry-bench-202406",
        description="SORRY-Bench dataset (gated: token from $HF_TOKEN); local folder works too.",
    )
    define: TaskDefinition | None = Field(
        None,
        description="A task defined in YAML (crossling.tasks.defined): its training target, "
        "prompts, scorers and primary metric; inline, or the path of a YAML file holding it. "
        "null: 'task' names a built-in or plugin task.",
    )

    @field_validator("define", mode="before")
    @classmethod
    def _read_definition(cls, v: object) -> object:
        return read_definition(v)

    @model_validator(mode="after")
    def _register_definition(self) -> DataConfig:
        """A YAML task covers its languages and is registered (with its scorers) the moment
        its config validates, so every stage built from this config knows it; its source
        column replaces ``columns.output``."""
        if self.define is None:
            return self
        missing = self.define.uncovered(self.eval_langs, self.train_langs)
        if missing:
            raise ValueError(f"define: {missing}")
        column = self.define.target.column
        if column is not None:
            if "output" in self.columns.model_fields_set and self.columns.output != column:
                raise ValueError(f"define.target.column '{column}' and columns.output "
                                 f"'{self.columns.output}' disagree; set one of them")
            self.columns = self.columns.model_copy(update={"output": column})
        from crossling.evaluate.scorers.defined import define

        define(self.task, self.define)
        return self

    @field_validator("train_langs", "eval_langs", mode="before")
    @classmethod
    def _langs(cls, v: object) -> list[str]:
        if isinstance(v, (str, list, tuple)):
            return parse_langs(v)
        raise ValueError("expected a list of language codes or 'en,de,ru'")

    @model_validator(mode="after")
    def _builtin_covers_langs(self) -> DataConfig:
        """Fail at config time, naming the field, when the built-in corpus lacks a language."""
        if self.source == "builtin" or self.source.startswith("builtin:"):
            for name in ("train_langs", "eval_langs"):
                missing = [c for c in getattr(self, name) if c not in BUILTIN_LANGS]
                if missing:
                    raise ValueError(
                        f"{name} {missing}: the built-in corpus has no data in those languages "
                        f"(it has {', '.join(BUILTIN_LANGS)}); drop them or use another source"
                    )
        return self

    @property
    def all_langs(self) -> list[str]:
        return list(dict.fromkeys([*self.train_langs, *self.eval_langs]))
