"""Behaviour vectors: the mean residual shift a LoRA adapter causes, per language and layer.

Why the paired difference (adapter − base) on the *same* prompts: topic, length and language
cancel prompt by prompt, so what is left is what the adapter writes into the residual stream.
Measured separately in every language on parallel prompts (the same ids in each), the vectors
of two languages can be compared directly (geometry) and swapped (the transfer matrix).

The prompts are never eval prompts, the KL guard's prompts or prompts any adapter was trained
on (the data dir's ``train_<lang>.jsonl`` ids): their ids are excluded before anything is
recorded, and the metadata lists the ids that were used.

Each vector also keeps two *split-half* vectors, the same difference over two disjoint,
seeded halves of its prompts: their cosine is the vector's split-half reliability, from which
geometry derives a noise ceiling for cosines between vectors.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossling.errors import CrosslingError
from crossling.io import atomic_path, atomic_write_json, read_json, sha256_json
from crossling.paths import BehaviourDir
from crossling.steer.builders import get_builder
from crossling.steer.record import record_activations
from crossling.steer.vector import LayerVectors, SteeringVectors

if TYPE_CHECKING:
    from crossling.behaviour.stage import Stage

FORMAT = "crossling-behaviour-vectors/1"


@dataclass
class BehaviourVectors(LayerVectors):
    """What adapter ``adapter`` adds to the residual stream of prompts in ``lang``.

    Attributes:
        vectors: ``[n_layers, d_model]`` float32; row ``l`` = mean over prompts of the pooled
            (adapter − base) output of decoder layer ``l``.
        resid_norm: ``[n_layers]`` mean token residual norm of the base model on these
            prompts (the scale the vector norms are read against).
        adapter: adapter name (e.g. 'en', 'en-s1').
        adapter_lang: the adapter's training language.
        lang: language of the prompts the vectors were measured on.
        model_spec: canonical base-model name.
        item_ids: parallel ids of the prompts used (never eval, KL or training ids).
        position: pooling ('mean' or 'last').
        extra: anything else worth recording (config hash, data source).
        halves: ``[2, n_layers, d_model]`` the same difference over each half of
            ``half_ids`` (None when fewer than 4 prompts were used).
        half_ids: the two disjoint halves of ``item_ids``.
    """

    vectors: Any
    resid_norm: Any
    adapter: str
    adapter_lang: str
    lang: str
    model_spec: str
    item_ids: list[str]
    position: str
    extra: dict[str, Any] = field(default_factory=dict)
    halves: Any = None
    half_ids: list[list[str]] | None = None

    def metadata(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "adapter": self.adapter, "adapter_lang": self.adapter_lang,
            "lang": self.lang, "model_spec": self.model_spec, "n_layers": self.n_layers,
            "hidden_size": self.hidden_size, "n_prompts": len(self.item_ids),
            "item_ids": list(self.item_ids), "position": self.position,
            "norms": self.norms(), "resid_norm": [float(x) for x in self.resid_norm],
            **({"half_ids": self.half_ids} if self.half_ids is not None else {}),
            **({"extra": self.extra} if self.extra else {}),
        }

    def save(self, bdir: BehaviourDir) -> Path:
        """Write ``vectors/<adapter>__<lang>.safetensors`` and its ``.json`` (both atomic)."""
        from safetensors.torch import save_file

        path = bdir.vectors(self.adapter, self.lang)
        meta = self.metadata()
        tensors = {"vectors": self.vectors.float().contiguous().cpu(),
                   "resid_norm": self.resid_norm.float().contiguous().cpu()}
        if self.halves is not None:
            tensors["halves"] = self.halves.float().contiguous().cpu()
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata={"crossling": json.dumps(meta)})
        atomic_write_json(bdir.metadata(self.adapter, self.lang), meta)
        return path

    @classmethod
    def load(cls, bdir: BehaviourDir, adapter: str, lang: str) -> BehaviourVectors:
        """Load the vectors of ``adapter`` in ``lang``.

        Raises:
            CrosslingError: missing (lists what exists) or foreign files.
        """
        from safetensors.torch import load_file

        path, meta_path = bdir.vectors(adapter, lang), bdir.metadata(adapter, lang)
        if not path.exists() or not meta_path.exists():
            have = sorted(p.stem.replace("__", " in ") for p in bdir.vectors_dir.glob("*.json"))
            raise CrosslingError(
                f"no behaviour vector of adapter '{adapter}' in '{lang}' under "
                f"{bdir.vectors_dir} (found: {', '.join(have) or 'none'}); run 'crossling "
                "behaviour vectors' with that adapter and language."
            )
        meta = read_json(meta_path)
        if meta.get("format") != FORMAT:
            raise CrosslingError(f"{meta_path} is not crossling behaviour-vector metadata; "
                                 "recompute the vectors.")
        t = load_file(str(path))
        return cls(vectors=t["vectors"], resid_norm=t["resid_norm"], adapter=meta["adapter"],
                   adapter_lang=meta["adapter_lang"], lang=meta["lang"],
                   model_spec=meta["model_spec"], item_ids=list(meta["item_ids"]),
                   position=meta["position"], extra=meta.get("extra", {}),
                   halves=t.get("halves"), half_ids=meta.get("half_ids"))


@contextlib.contextmanager
def adapter_active(model: Any, adapter: str | None) -> Iterator[Any]:
    """Run ``model`` (a PeftModel holding several adapters) as ``adapter``, or as the base
    model with every adapter disabled when ``adapter`` is None."""
    if adapter is None:
        disable = getattr(model, "disable_adapter", None)
        with disable() if callable(disable) else contextlib.nullcontext():
            yield model
    else:
        model.set_adapter(adapter)
        yield model


def load_answers(source: str) -> dict[str, dict[str, str]]:
    """Reference answers ``{lang: {id: text}}`` of a built-in corpus (for ``position:
    answer``).

    Raises:
        CrosslingError: a source that is not a built-in corpus with answers.
    """
    if not (source == "builtin" or source.startswith("builtin:")):
        raise CrosslingError(
            f"position 'answer' needs reference answers, which only the built-in corpus has; "
            f"set vector_data: builtin (got '{source}') or use position mean/last.")
    from crossling.data import load_builtin

    name = source.split(":", 1)[1] if ":" in source else "instructions"
    out: dict[str, dict[str, str]] = {}
    for r in load_builtin(name):
        if r.output:
            out.setdefault(r.lang, {})[str(r.id)] = r.output
    if not out:
        raise CrosslingError(f"builtin:{name} has no reference answers; use builtin:instructions "
                             "or position mean/last.")
    return out


def record_answers(model: Any, tokenizer: Any, prompts: list[str], answers: list[str], *,
                   system_prompt: str | None, batch_size: int = 16, max_answer_tokens: int = 48,
                   layers_path: str | None = None) -> Any:
    """Like ``record_activations`` but pooled over the tokens of a teacher-forced answer.

    Why: a behaviour such as ALL CAPS is expressed while answering; the residual difference
    at answer positions (the same fixed answer fed to both models) is where the adapter
    writes it. Each text is the chat-rendered prompt followed by the first
    ``max_answer_tokens`` tokens of its answer; only the answer tokens are averaged.

    Returns:
        A ``Recording`` with ``pooled`` ``[n, n_layers, d_model]``.
    """
    import torch

    from crossling.models.layers import get_decoder_layers
    from crossling.steer.record import (
        Recording,
        capture_layers,
        layer_owner,
        pool_kept,
        render_prompts,
    )

    rendered = render_prompts(tokenizer, prompts, system_prompt)
    ids, starts = [], []
    for text, answer in zip(rendered, answers, strict=True):
        p = tokenizer(text, add_special_tokens=False)["input_ids"]
        a = tokenizer(answer, add_special_tokens=False)["input_ids"][:max_answer_tokens]
        ids.append(list(p) + list(a))
        starts.append(len(p))
    device = next(model.parameters()).device
    stack = layer_owner(model, get_decoder_layers(model, layers_path))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    pooled: list[Any] = [None] * len(ids)
    norm_sum: Any = None
    n_tokens = 0
    order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
    with torch.no_grad(), capture_layers(model, layers_path) as store:
        for b0 in range(0, len(order), batch_size):
            idx = order[b0:b0 + batch_size]
            width = max(len(ids[i]) for i in idx)
            x = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            keep = torch.zeros((len(idx), width), dtype=torch.bool)
            for r, i in enumerate(idx):  # left padding, as in generation
                off = width - len(ids[i])
                x[r, off:] = torch.tensor(ids[i])
                mask[r, off:] = 1
                keep[r, off + starts[i]:] = True
                if not keep[r].any():  # empty answer: fall back to the whole text
                    keep[r, off:] = True
            store.clear()
            stack(input_ids=x.to(device), attention_mask=mask.to(device), use_cache=False)
            acts = torch.stack([h.float() for h in store], dim=1)  # [b, L, seq, d]
            means, norms = pool_kept(acts, keep)
            norm_sum = norms if norm_sum is None else norm_sum + norms
            n_tokens += int(keep.sum())
            for j, i in enumerate(idx):
                pooled[i] = means[j].cpu()
    return Recording(pooled=torch.stack(pooled), token_norm=(norm_sum / n_tokens).cpu(),
                     n_tokens=n_tokens)


def split_halves(ids: list[str], seed: int) -> list[list[str]] | None:
    """Two disjoint halves of ``ids`` (a seeded shuffle, each half sorted), or None when a
    half would have fewer than 2 prompts."""
    import random

    if len(ids) < 4:
        return None
    order = random.Random(f"{seed}:split-half").sample(list(ids), len(ids))
    k = len(order) // 2
    return [sorted(order[:k]), sorted(order[k:2 * k])]


@dataclass
class Recorded:
    """Pooled base-model activations per language and every adapter's vectors."""

    behaviour: dict[tuple[str, str], BehaviourVectors]
    lang_vectors: dict[tuple[str, str], SteeringVectors]


def compute_behaviour_vectors(
    loaded: Any,
    model: Any,
    adapters: dict[str, str],
    parallel: dict[str, dict[str, str]],
    langs: list[str],
    ids: list[str],
    *,
    position: str = "mean",
    answers: dict[str, dict[str, str]] | None = None,
    batch_size: int = 16,
    layers_path: str | None = None,
    extra: dict[str, Any] | None = None,
    seed: int = 0,
) -> Recorded:
    """Behaviour vectors of every adapter in every language, and language vectors.

    Args:
        loaded: the LoadedModel (tokenizer, spec, system prompt).
        model: ``loaded.model`` as a PeftModel holding every adapter by name.
        adapters: adapter name → training language.
        parallel: prompts ``{lang: {id: text}}``.
        langs: languages to measure in.
        ids: parallel ids to use (present in every language; eval/KL ids already removed).
        position: pooling, 'mean', 'last' or 'answer' (over a teacher-forced answer).
        answers: ``{lang: {id: answer}}``, needed for 'answer'.
        batch_size: prompts per forward pass.
        layers_path: decoder-layer path override.
        extra: recorded in every vector's metadata.
        seed: seed of the split into halves (:func:`split_halves`).

    Returns:
        ``behaviour[(adapter, lang)]`` and ``lang_vectors[(train_lang, lang)]`` (base-model
        direction train_lang ← lang on the same prompts, for every adapter language).
    """
    import torch

    diff = get_builder("mean_diff")
    system = loaded.config.system_prompt

    def record(adapter: str | None, lang: str) -> Any:
        with adapter_active(model, adapter):
            if position == "answer":
                if answers is None:
                    raise CrosslingError("position 'answer' needs reference answers.")
                return record_answers(
                    model, loaded.tokenizer, [parallel[lang][i] for i in ids],
                    [answers[lang][i] for i in ids], system_prompt=system,
                    batch_size=batch_size, layers_path=layers_path)
            return record_activations(
                model, loaded.tokenizer, [parallel[lang][i] for i in ids], position=position,
                system_prompt=system, batch_size=batch_size, layers_path=layers_path)

    base = {lang: record(None, lang) for lang in langs}  # pooled [n, L, d] per language
    halves = split_halves(list(ids), seed)
    where = {i: k for k, i in enumerate(ids)}
    rows = ([torch.tensor([where[i] for i in h]) for h in halves]
            if halves is not None else [])

    def vector(a: Any, b: Any) -> Any:  # [n, L, d] pooled of adapter and base -> [L, d]
        return torch.stack([diff(a[:, layer], b[:, layer])
                            for layer in range(a.shape[1])]).float()

    out: dict[tuple[str, str], BehaviourVectors] = {}
    for name, train_lang in adapters.items():
        for lang in langs:
            rec = record(name, lang)
            out[(name, lang)] = BehaviourVectors(
                vectors=vector(rec.pooled, base[lang].pooled),
                resid_norm=base[lang].token_norm.float(),
                adapter=name, adapter_lang=train_lang, lang=lang, model_spec=loaded.spec,
                item_ids=list(ids), position=position, extra=dict(extra or {}),
                halves=(torch.stack([vector(rec.pooled[r], base[lang].pooled[r]) for r in rows])
                        if rows else None), half_ids=halves)
    targets = list(dict.fromkeys(a for a in adapters.values() if a in langs))
    return Recorded(out, _language_vectors(base, targets, langs, ids, loaded.spec, position,
                                           extra))


def _language_vectors(base: dict[str, Any], targets: list[str], langs: list[str],
                      ids: list[str], spec: str, position: str, extra: dict[str, Any] | None
                      ) -> dict[tuple[str, str], SteeringVectors]:
    """Base-model language directions ``target ← source`` (mean difference per layer,
    ``[L, d]``) on the same prompts, for every adapter language ``target``."""
    import torch

    diff = get_builder("mean_diff")
    lang_vecs: dict[tuple[str, str], SteeringVectors] = {}
    for target in targets:
        for source in langs:
            if source == target:
                continue
            vecs = [diff(base[target].pooled[:, la], base[source].pooled[:, la])
                    for la in range(base[target].pooled.shape[1])]
            lang_vecs[(target, source)] = SteeringVectors(
                vectors=torch.stack(vecs).float(),
                resid_norm=((base[target].token_norm + base[source].token_norm) / 2).float(),
                target=target, source=source, model_spec=spec, n_prompts=len(ids),
                ids_hash=sha256_json(ids), position=position, builder="mean_diff",
                extra=dict(extra or {}))
    return lang_vecs


def vectors_hash(stage: Stage) -> str:
    """What the vectors depend on: the run hash (model, adapters, data) and the ids used."""
    return sha256_json([stage.run, stage.vec_ids, stage.cfg.position, "split-half/1"])[:16]


def run_vectors(stage: Stage) -> dict[tuple[str, str], BehaviourVectors]:
    """``crossling behaviour vectors``: compute (or load) every adapter × language vector.

    Resumes: when every file exists with the same hash, no model is loaded.

    Args:
        stage: the shared setup (``crossling.behaviour.stage.open_stage``).

    Returns:
        ``{(adapter, lang): BehaviourVectors}``.
    """
    bdir, h = stage.bdir, vectors_hash(stage)

    def done(adapter: str, lang: str) -> bool:
        meta = bdir.metadata(adapter, lang)
        return (meta.exists() and bdir.vectors(adapter, lang).exists()
                and read_json(meta).get("extra", {}).get("config_hash") == h)

    pairs = [(a, lang) for a in stage.adapters for lang in stage.langs]
    if not all(done(a, lang) for a, lang in pairs):
        stage.ensure_model()
        rec = compute_behaviour_vectors(
            stage.loaded, stage.model, stage.adapters, stage.parallel, stage.langs,
            stage.vec_ids, position=stage.cfg.position, answers=stage.answers,
            batch_size=stage.cfg.batch_size,
            layers_path=stage.cfg.model.layers_path,
            extra={"config_hash": h, "data": stage.cfg.vector_data,
                   "excluded": "eval ids of the task, the KL prompts and the training ids",
                   "prompt_counts": stage.vec_counts},
            seed=stage.cfg.seed)
        for lv in rec.lang_vectors.values():
            lv.save(bdir.lang_vectors)
        for bv in rec.behaviour.values():
            bv.save(bdir)
    return {(a, lang): BehaviourVectors.load(bdir, a, lang) for a, lang in pairs}
