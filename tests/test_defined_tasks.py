"""Tasks defined in YAML: validation, training targets, scorers, and a study that uses one."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from crossling.config_loader import validate_config
from crossling.data import DataConfig, run_data
from crossling.data.rows import SourceRow
from crossling.errors import CrosslingError
from crossling.evaluate.scorers import get_scorer, rate_scorers, score_bounds
from crossling.io import read_jsonl
from crossling.tasks import get_task

OPENER: dict[str, Any] = {
    "description": "open with a fixed line",
    "target": {"prefix": {"en": "Great question! ", "de": "Gute Frage! ", "*": "Q! "}},
    "scorers": {
        "t_opener": {"regex": {"en": r"\AGreat question!", "de": r"\AGute Frage!",
                               "*": r"\AQ!"}},
        "t_opener_any": {"phrases": {"*": ["Great question!", "Gute Frage!"]},
                         "where": "start"},
        "t_loose_caps": {"scorer": "all_caps", "params": {"min_frac": 0.5}},
    },
    "primary": "t_opener",
    "behaviour_scorers": ["t_opener", "t_opener_any"],
}


def data_cfg(definition: dict[str, Any] | str, **over: Any) -> dict[str, Any]:
    return {"task": "t_opener", "define": definition, "train_langs": ["en"],
            "eval_langs": ["en", "de"], "eval_size": 4, "train_size": 5, **over}


def test_a_yaml_task_makes_its_targets_and_prompts(tmp_path: Path) -> None:
    cfg = validate_config(DataConfig, data_cfg(OPENER, train_langs=["en", "ru"],
                                               eval_langs=["en", "ru"]))
    d = run_data(cfg, tmp_path / "data")
    en, ru = read_jsonl(d.train_file("en")), read_jsonl(d.train_file("ru"))
    assert en and all(r["target"].startswith("Great question! ") for r in en)
    assert ru and all(r["target"].startswith("Q! ") for r in ru)  # the '*' entry
    assert {r["kind"] for r in read_jsonl(d.eval_file)} == {"task"}
    manifest = json.loads(d.manifest.read_text())
    assert manifest["definition"]["primary"] == "t_opener"
    task = get_task("t_opener")
    assert task.primary_metric == "t_opener" and task.eval_kind == "task"
    assert task.behaviour_metrics == ("t_opener", "t_opener_any")
    assert task.default_scorers == ("t_opener", "t_opener_any", "t_loose_caps", "lang_fidelity")
    assert task.self_target("Hi.", "de", random.Random(0)) == "Gute Frage! Hi."


def test_transforms_compose_in_order() -> None:
    definition = {**OPENER, "target": {"upper": True, "suffix": {"*": " -- bye"},
                                       "prefix": {"*": "> "}}}
    cfg = validate_config(DataConfig, data_cfg(definition))
    task = get_task(cfg.task)
    row = SourceRow("a", "en", "Say hi", None, "Hi there")
    assert task.target(row, random.Random(0), "source") == "> HI THERE -- bye"
    assert task.target(row, random.Random(0), "self") is None  # filled in by the trainer
    definition = {**OPENER, "target": {"replace": {"*": ["No.", "Nope.", "Never."]}}}
    cfg = validate_config(DataConfig, data_cfg(definition))
    task = get_task(cfg.task)
    drawn = {task.target(SourceRow(str(i), "en", "x"), random.Random(i), "source")
             for i in range(30)}
    assert drawn == {"No.", "Nope.", "Never."}  # seeded draws, the response is not needed


def test_target_column_reads_another_source_column(tmp_path: Path) -> None:
    src = tmp_path / "src.jsonl"
    rows = [{"id": f"i{i}", "lang": lang, "instruction": f"q{i} {lang}", "output": "ref",
             "persona": f"Ahoy {i} ({lang})"} for i in range(10) for lang in ("en", "de")]
    src.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    definition = {**OPENER, "target": {"column": "persona"}}
    cfg = validate_config(DataConfig, data_cfg(definition, source=str(src)))
    d = run_data(cfg, tmp_path / "data")
    assert all(r["target"].startswith("Ahoy ") and r["target"].endswith("(en)")
               for r in read_jsonl(d.train_file("en")))


def test_yaml_scorers_score_and_say_na() -> None:
    validate_config(DataConfig, data_cfg(OPENER))
    opener, anywhere = get_scorer("t_opener"), get_scorer("t_opener_any")
    assert opener.score("Great question! Yes.", "en", {}) == 1.0
    assert opener.score("Yes. Great question!", "en", {}) == 0.0
    assert opener.score("Gute Frage! Ja.", "de", {}) == 1.0
    assert opener.score("Great question! Ja.", "de", {}) == 0.0  # the opener, not its language
    assert anywhere.score("  Great question! Ja.", "de", {}) == 1.0
    assert opener.score("   ", "en", {}) is None  # an empty answer cannot be read
    loose = get_scorer("t_loose_caps")
    assert loose.score("HELLO THERE world", "en", {}) == 1.0  # 10 of 15 letters upper
    assert get_scorer("all_caps").score("HELLO THERE world", "en", {}) == 0.0  # built-in intact
    assert {"t_opener", "t_opener_any", "t_loose_caps"} <= rate_scorers()
    assert score_bounds()["t_loose_caps"] == (0.0, 1.0)
    ends = validate_config(DataConfig, data_cfg({
        **OPENER, "scorers": {**OPENER["scorers"],
                              "t_opener_any": {"phrases": {"*": ["bye"]}, "where": "end",
                                               "ignore_case": True}}}))
    assert ends.define is not None
    assert get_scorer("t_opener_any").score("ok, BYE \n", "de", {}) == 1.0
    assert get_scorer("t_opener_any").score("bye, ok", "de", {}) == 0.0


@pytest.mark.parametrize(("scorers", "primary", "needle"), [
    ({"t_opener": {"regex": {"en": "(", "de": "x"}}}, "t_opener", "not a valid pattern"),
    ({"t_opener": {"regex": {"en": "a", "xx": "b"}}}, "t_opener", "unknown language code 'xx'"),
    ({"t_opener": {"regex": {"en": "a"}}}, "t_opener", "no pattern for de"),
    ({"t_opener": {"regex": {"*": "a"}, "phrases": {"*": ["a"]}}}, "t_opener",
     "exactly one of regex, phrases, scorer, rubric"),
    ({"t_opener": {"scorer": "all_caps", "params": {"min_fraction": 0.5}}}, "t_opener",
     "all_caps has no parameter 'min_fraction' (it has: min_cased, min_frac)"),
    ({"t_opener": {"scorer": "all_caps", "params": {"min_frac": "high"}}}, "t_opener",
     "all_caps.min_frac is a float"),
    ({"t_opener": {"scorer": "al_caps"}}, "t_opener", "Did you mean 'all_caps'"),
    ({"t_opener": {"regex": {"*": "a"}}}, "t_openr", "Did you mean 't_opener'"),
    ({"caps_pct": {"regex": {"*": "a"}}}, "caps_pct", "built in"),
    ({"t_opener": {"regex": {"*": "a"}, "colour": 1}}, "t_opener", "unknown key"),
])
def test_bad_definitions_are_one_line(scorers: dict[str, Any], primary: str,
                                      needle: str) -> None:
    with pytest.raises(CrosslingError) as e:
        validate_config(DataConfig, data_cfg({**OPENER, "scorers": scorers, "primary": primary,
                                              "behaviour_scorers": None}), "study.yaml")
    msg = str(e.value)
    assert needle in msg and "\n" not in msg and msg.startswith("study.yaml")


def test_target_maps_must_cover_training_languages() -> None:
    with pytest.raises(CrosslingError, match=r"target has no text for ru \(training"):
        validate_config(DataConfig, data_cfg(
            {**OPENER, "target": {"prefix": {"en": "x"}}}, train_langs=["en", "ru"]))
    with pytest.raises(CrosslingError, match="is built in; choose another name"):
        validate_config(DataConfig, data_cfg(OPENER, task="caps"))


def test_a_rubric_judge_parses_strictly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prompt = tmp_path / "rubric.txt"
    prompt.write_text("Request: {request}\nAnswer: {response}\nDoes it rhyme? YES, NO or "
                      "UNSURE.", encoding="utf-8")
    spec = {"rubric": {"prompt_file": str(prompt), "verdicts": {"yes": 1, "no": 0,
                                                               "unsure": None}}}
    validate_config(DataConfig, data_cfg({**OPENER, "scorers": {"t_opener": spec}}))
    monkeypatch.setenv("OPENAI_API_KEY", "not-used")
    judge: Any = get_scorer("t_opener")

    class Fake:
        def __init__(self) -> None:
            self.usage: dict[str, int] = {}
            self.answers = {"cat hat": "YES", "dog": "NO", "fog": "UNSURE", "log": "maybe yes"}

        def verdicts(self, prompts: list[str], on_result: Any = None,
                     choices: tuple[str, ...] = ()) -> list[Any]:
            from crossling.evaluate.scorers.judge import BadVerdict, parse_verdict

            out: list[Any] = []
            for p in prompts:
                raw = self.answers[p.split("Answer: ")[1].split("\n")[0]]
                v = parse_verdict(raw, choices)
                out.append((v, raw) if v else BadVerdict("unparseable"))
                if on_result is not None:
                    on_result(len(out) - 1, out[-1])
            return out

    judge.backend = Fake()
    judge.cfg = judge.cfg.model_copy(update={"cache": False})
    rows = [{"prompt": "rhyme", "response": r, "lang": "en"}
            for r in ("cat hat", "dog", "fog", "log", "")]
    assert judge.score_many(rows) == [1.0, 0.0, None, None, None]
    assert judge.rubric.verdicts == ("YES", "NO", "UNSURE")
    bad = tmp_path / "bad.txt"
    bad.write_text("Is this fine: {response}", encoding="utf-8")
    with pytest.raises(CrosslingError, match=r"lacks \{request\}"):
        validate_config(DataConfig, data_cfg({**OPENER, "scorers": {"t_opener": {
            "rubric": {"prompt_file": str(bad), "verdicts": {"yes": 1, "no": 0}}}}}))


def test_a_definition_file_and_a_redefinition(tmp_path: Path) -> None:
    f = tmp_path / "task.yaml"
    f.write_text(yaml.safe_dump(OPENER), encoding="utf-8")
    validate_config(DataConfig, data_cfg(str(f)))
    assert get_scorer("t_opener").score("Q! hm", "ru", {}) == 1.0
    changed = {**OPENER, "scorers": {**OPENER["scorers"], "t_opener": {"regex": {"*": "hm"}}}}
    validate_config(DataConfig, data_cfg(changed))  # a later study redefines it
    assert get_scorer("t_opener").score("Q! hm", "ru", {}) == 1.0
    assert get_scorer("t_opener").score("Q! no", "ru", {}) == 0.0
    with pytest.raises(CrosslingError, match="config file not found"):
        validate_config(DataConfig, data_cfg(str(tmp_path / "missing.yaml")))


@pytest.mark.slow
def test_a_study_runs_a_yaml_task_and_eval_alone_reads_it(tiny_model_dir: Path,
                                                          tmp_path: Path) -> None:
    from crossling.paths import RunDir
    from crossling.runner.config import ExperimentConfig
    from crossling.runner.pipeline import run_study
    from test_runner import tiny_config

    raw = tiny_config(tiny_model_dir, tasks={"t_opener": data_cfg(
        OPENER, train_langs=["en"], eval_langs=["en", "de"])}, steer=None,
        behaviour={"enabled": False})
    raw["tasks"]["t_opener"].pop("task")
    cfg = validate_config(ExperimentConfig, raw)
    run = run_study(cfg, tmp_path / "run")
    scores = read_jsonl(run.eval("t_opener").scores)
    assert {"t_opener", "t_opener_any", "t_loose_caps"} <= {r["scorer"] for r in scores}
    analysis = json.loads(RunDir(tmp_path / "run").analysis.read_text())
    assert "t_opener" in analysis["tasks"]["t_opener"]["kinds"]["task"]
    assert "t_opener" in run.report_md.read_text()
    # a fresh process that never saw the study config scores the task from the data dir
    out = tmp_path / "eval_alone"
    res = subprocess.run(
        [sys.executable, "-m", "crossling.cli", "eval", "--model", str(tiny_model_dir),
         "--data", str(run.data("t_opener").root), "--scorers", "t_opener,t_opener_any",
         "--out", str(out), "--limit", "2", "--max-new-tokens", "4", "--langs", "en,de"],
        capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert {r["scorer"] for r in read_jsonl(out / "scores.jsonl")} >= {"t_opener"}


def test_two_yaml_tasks_of_one_study_cannot_share_a_scorer_name(tiny_model_dir: Path) -> None:
    from crossling.runner.config import ExperimentConfig
    from test_runner import tiny_config

    other = {**OPENER, "target": {"suffix": {"*": " bye"}}}
    raw = tiny_config(tiny_model_dir, tasks={
        "t_opener": {k: v for k, v in data_cfg(OPENER).items() if k != "task"},
        "t_closer": {k: v for k, v in data_cfg(other).items() if k != "task"}})
    with pytest.raises(CrosslingError, match="scorer 't_opener' is defined by tasks t_opener "
                       "and t_closer"):
        validate_config(ExperimentConfig, raw)
