"""Garbage detection: the degenerate rule on real failures and real answers, the fluency
scorer's direction, and the flags the report shows."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from crossling.analysis.quality import cell_flags, degenerate_reason, quality_flags

# Answers crossling once reported as findings (issue 9), and loops of the base model.
GARBAGE = [
    ("Here---------------", "Give three tips for staying healthy.", "char_run"),
    ("The---------------", "Describe the water cycle.", "char_run"),
    ("Honey---------------", "Classify these foods as sweet or salty.", "char_run"),
    ("To-----------------------------------------------", "How do I bake bread?", "char_run"),
    ("СКОКЕНЕКОНЕНЕНЕНЕНЕНЕН", "Расскажи о викингах.", "stutter"),
    ("НАРОСКАЗРАСКАЗРАСКАЗРАСК", "Расскажи сказку.", "stutter"),
    ("They were omnivores, and their diet consisted of both meat and plants. " * 15,
     "What did dinosaurs eat?", "repeated_ngram"),
    ("Они жили как викинги, как викинги, как викинги, как викинги, как викинги",
     "Как жили викинги?", "repeated_ngram"),
    ("Расскажи о викингах подробно. Расскажи о викингах подробно. Расскажи о викингах "
     "подробно.", "Расскажи о викингах подробно.", "repeated_ngram"),
    ("You are a helpful assistant.\n\nClassify these foods as sweet or salty: honey, cheese, "
     "chocolate", "Classify these foods as sweet or salty: honey, cheese, chocolate, chips.",
     "prompt_echo"),
    ("no no no no no", "Is the earth flat?", "word_run"),
    ("   ", "Say something.", "empty"),
    ("", "Say something.", "empty"),
]

FINE = [
    ("Here are three tips to help you stay healthy: 1. Eat a balanced diet. 2. Move every "
     "day. 3. Sleep seven to eight hours.", "Give three tips for staying healthy."),
    ("HERE ARE THREE TIPS TO HELP YOU STAY HEALTHY: EAT WELL, MOVE, AND SLEEP.",
     "Give three tips for staying healthy."),
    ("| a | b |\n|---|---|\n| 1 | 2 |", "Make a table."),
    ("The population grew from 1000000000 to 8000000000 people.", "How many people?"),
    ("Yes.", "Is water wet?"),
    ("天空是蓝色的，因为空气分子更多地散射蓝光。", "为什么天空是蓝色的？"),
    ("- apples\n- bananas\n- cherries\n- dates", "List four fruits."),
    ("He goes to school every day.", "Correct the grammar: He go to school every day."),
]


@pytest.mark.parametrize(("answer", "prompt", "reason"), GARBAGE)
def test_degenerate_catches_real_garbage(answer: str, prompt: str, reason: str) -> None:
    assert degenerate_reason(answer, prompt, "You are a helpful assistant.") == reason


@pytest.mark.parametrize(("answer", "prompt"), FINE)
def test_degenerate_leaves_ordinary_answers(answer: str, prompt: str) -> None:
    assert degenerate_reason(answer, prompt, "You are a helpful assistant.") is None


def test_builtin_reference_answers_are_not_degenerate() -> None:
    """616 human-written answers in 7 languages, normal and uppercased: none is flagged."""
    root = files("crossling") / "data" / "builtin"
    checked, flagged = 0, []
    for name in ("instructions_a.jsonl", "instructions_b.jsonl", "instructions_c.jsonl"):
        for line in (root / name).read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            for lang, answer in (item.get("output") or item.get("response") or {}).items():
                prompt = item["instruction"][lang]
                for text in (answer, answer.upper()):
                    checked += 1
                    if degenerate_reason(text, prompt) is not None:
                        flagged.append((item["id"], lang, degenerate_reason(text, prompt)))
    assert checked >= 1000
    assert flagged == []


def test_flags_follow_the_documented_thresholds() -> None:
    base = {"mean": -1.2}
    assert cell_flags({"mean": 0.1}, {"mean": -1.5}, base) == []
    assert cell_flags({"mean": 0.25}, {"mean": -1.5}, base) == ["25% degenerate answers"]
    assert cell_flags({"mean": 0.0}, {"mean": -2.5}, base) == [
        "fluency -2.50 vs base -1.20 nats/token"]
    flags = quality_flags(
        {"base": {"ru": {"mean": 0.0}}, "ru": {"ru": {"mean": 0.9}, "bg": {"mean": 0.0}}},
        {"base": {"ru": {"mean": -1.0}}, "ru": {"ru": {"mean": -5.0}, "bg": {"mean": -1.1}}},
    )
    assert flags["base"]["ru"] == []
    assert len(flags["ru"]["ru"]) == 2 and flags["ru"]["bg"] == []


@pytest.mark.slow
def test_smollm2_fluency_puts_gibberish_far_below_its_own_russian_answers() -> None:
    """The fluency scorer on the packaged model: the Cyrillic gibberish an RU caps adapter
    once produced scores more than FLUENCY_DROP below the base model's own Russian answers,
    and an uppercased answer scores like its lowercase self (ALL CAPS is not measured)."""
    import torch

    from crossling.analysis.quality import FLUENCY_DROP
    from crossling.evaluate.backends.hf import GenerationConfig, HFBackend
    from crossling.evaluate.scorers import ScorerContext, get_scorer
    from crossling.models import load_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        root = files("crossling") / "data" / "builtin"
        items = [json.loads(x) for x in
                 (root / "instructions_a.jsonl").read_text(encoding="utf-8").splitlines()[:4]]
        prompts = [it["instruction"]["ru"] for it in items]
        loaded = load_model("smollm2-135m")
        answers = [g.response for g in HFBackend(loaded).generate(
            prompts, GenerationConfig(max_new_tokens=32, batch_size=4))]
        fluency = get_scorer("fluency", ScorerContext(base_model=lambda: loaded))
        own = fluency.score_many([{"prompt": p, "response": a, "lang": "ru"}
                                  for p, a in zip(prompts, answers, strict=True)])
        caps = fluency.score_many([{"prompt": p, "response": a.upper(), "lang": "ru"}
                                   for p, a in zip(prompts, answers, strict=True)])
        garbage = fluency.score_many([
            {"prompt": prompts[i], "response": text, "lang": "ru"}
            for i, text in enumerate(["СКОКЕНЕКОНЕНЕНЕНЕНЕНЕН", "ТАЧЕТЕНЕНИЕ ИДЕНЕНИЕ ИДЕНЕ",
                                      "НАРОСКАЗРАСКАЗРАСКАЗРАСК"])])
    finally:
        torch.set_num_threads(threads)
    base_mean = sum(own) / len(own)  # type: ignore[arg-type]
    assert max(garbage) < base_mean - FLUENCY_DROP  # type: ignore[type-var]
    assert caps == pytest.approx(own, abs=1e-4)
