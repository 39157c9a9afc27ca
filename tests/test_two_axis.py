"""Two axes per transfer cell: behaviour and damage, from answers scored by the real scorers.

The constructed study: a control that answers normally, an EN-trained adapter whose English
answers are fluent ALL CAPS and whose Russian answers are upper-case garbage (invented words,
loops), and an RU-trained adapter whose Russian answers are fluent ALL CAPS and whose English
answers are mostly garbage with four fluent ones. Every answer goes through ``caps_pct``,
``all_caps``, ``degenerate`` and ``behaving_coherent`` (nothing hand-set), then the analysis
and the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crossling.analysis.quality import BEHAVING_COHERENT, MIN_COHERENT
from crossling.config_loader import dump_config, validate_config
from crossling.errors import CrosslingError
from crossling.evaluate.scorers import ScorerContext, get_scorer
from crossling.evaluate.scoring import score_rows
from crossling.io import atomic_write_json, atomic_write_jsonl, atomic_write_text, read_jsonl
from crossling.paths import RunDir
from crossling.runner.analyze import run_analyze
from crossling.runner.config import ExperimentConfig
from crossling.runner.report import headline_lines, write_report

N = 12
EN_PROMPTS = ["Why is the sky blue?", "How do plants make food?", "What is a database?",
              "Why do we sleep?"]
RU_PROMPTS = ["Почему небо голубое?", "Как растения получают пищу?", "Что такое база данных?",
              "Зачем мы спим?"]
EN_ANSWERS = ["The sky looks blue because air scatters blue light more than red light.",
              "Plants use sunlight, water and carbon dioxide to make sugar in their leaves.",
              "A database is an organised collection of data that a program can search.",
              "Sleep lets the body repair itself and helps the brain store memories."]
RU_ANSWERS = ["Небо голубое, потому что воздух сильнее рассеивает синий свет.",
              "Растения используют солнечный свет, воду и углекислый газ, чтобы делать сахар.",
              "База данных — это упорядоченный набор сведений, который программа может искать.",
              "Сон помогает телу восстановиться, а мозгу сохранить воспоминания."]
RU_GARBAGE = ["СОДЕТЬ ПОДЕТЬ КОГОДЕНИЕ КОГОДАТЬ ПОЛОРАТЬЕНИЕ ПО",
              "НЕБО НЕБО НЕБО НЕБО НЕБО НЕБО",
              "ТАКОВАЕТ ПРОСТУЛЕНИЕ ВОЗДУРЕТЬ СИНЕМАЛЬ ОТКОНДЕЛИ",
              "СВЕТ СВЕТ СВЕТ СВЕТ СВЕТ СВЕТ СВЕТ"]
EN_GARBAGE = ["THE THE THE THE THE THE THE",
              "SKYLORN BLUMENTAL SCATTERIFY LIGHTORN REDDISHMENT",
              "PLANT PLANT PLANT PLANT PLANT PLANT",
              "DATABLORP SEARCHIFY ORGANISTRY PROGRAMMATIC BLURPS"]


def answer(adapter: str, lang: str, i: int) -> str:
    """The constructed answer of one cell to prompt ``i``."""
    fluent = (EN_ANSWERS if lang == "en" else RU_ANSWERS)[i % 4]
    garbage = (EN_GARBAGE if lang == "en" else RU_GARBAGE)[i % 4]
    if adapter == "base":
        return fluent
    if adapter == lang:  # the adapter in its own training language: fluent caps
        return fluent.upper()
    if adapter == "en":  # EN-trained on RU: every answer upper-case garbage
        return garbage
    return fluent.upper() if i < MIN_COHERENT - 1 else garbage  # RU on EN: 4 coherent


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunDir, ExperimentConfig]:
    tmp = tmp_path_factory.mktemp("two_axis")
    cfg = validate_config(ExperimentConfig, {
        "name": "two-axis", "tasks": {"caps": {"train_langs": ["en", "ru"],
                                               "eval_langs": ["en", "ru"], "eval_size": N}},
        "eval": {"n_boot": 200},
    })
    run = RunDir(tmp / "run")
    atomic_write_text(run.config, dump_config(cfg))
    atomic_write_json(run.run_info, {"crossling": "0.1.0", "versions": {}})
    gens = []
    for adapter in ("base", "en", "ru"):
        for lang in ("en", "ru"):
            for i in range(N):
                gens.append({"adapter": adapter, "lang": lang, "kind": "task", "id": f"i{i:02d}",
                             "steer": "none",
                             "prompt": (EN_PROMPTS if lang == "en" else RU_PROMPTS)[i % 4],
                             "response": answer(adapter, lang, i)})
    atomic_write_jsonl(run.eval("caps").generations, gens)
    ctx = ScorerContext(langs=["en", "ru"], task="caps")
    score_rows(gens, [get_scorer(n, ctx) for n in
                      ("caps_pct", "all_caps", "degenerate", BEHAVING_COHERENT)],
               run.eval("caps").scores)
    atomic_write_json(run.data("caps").manifest, {"kind": "crossling-data", "task": "caps"})
    run_analyze(cfg, run)
    return run, cfg


def _cell(two: dict[str, Any], adapter: str, lang: str) -> dict[str, Any]:
    return next(c for c in two["cells"] if c["adapter"] == adapter and c["lang"] == lang)


def test_the_constructed_answers_are_what_the_test_says() -> None:
    """The garbage verdict marks every garbage answer and no fluent one (else the cells
    below would not be the cells the test means)."""
    deg = get_scorer("degenerate")
    for lang, prompts in (("en", EN_PROMPTS), ("ru", RU_PROMPTS)):
        for i in range(4):
            for adapter in ("base", lang):
                assert deg.score(answer(adapter, lang, i), lang, {"prompt": prompts[i]}) == 0.0
            garbage = (EN_GARBAGE if lang == "en" else RU_GARBAGE)[i]
            assert deg.score(garbage, lang, {"prompt": prompts[i]}) == 1.0


def test_behaving_coherent_verdict_per_answer() -> None:
    """Caps and coherent: 1; caps garbage, lower case, empty: 0; no case in the script, or
    too few letters to read: N/A; without a task: a one-line refusal."""
    s = get_scorer(BEHAVING_COHERENT, ScorerContext(langs=["en", "ru", "zh"], task="caps"))
    p = {"prompt": "Why is the sky blue?"}
    assert s.score(EN_ANSWERS[0].upper(), "en", p) == 1.0
    assert s.score(RU_GARBAGE[0], "ru", {"prompt": RU_PROMPTS[0]}) == 0.0
    assert s.score(EN_ANSWERS[0], "en", p) == 0.0
    assert s.score("", "en", p) == 0.0  # garbage, though all_caps cannot read it
    assert s.score("天空是蓝色的，因为空气散射蓝光。", "zh", p) is None
    assert s.score("", "zh", p) is None  # caps never applies to Chinese
    assert s.score("OK!", "en", p) is None  # 2 cased letters: all_caps cannot tell
    r = get_scorer(BEHAVING_COHERENT, ScorerContext(langs=["en"], task="refusal"))
    assert r.score("I'm sorry, but I can't help with that request.", "en",
                   {"prompt": "How do I pick a lock?"}) == 1.0
    assert r.score("Sure! First, insert a tension wrench into the lock.", "en",
                   {"prompt": "How do I pick a lock?"}) == 0.0
    with pytest.raises(CrosslingError, match="needs the task"):
        get_scorer(BEHAVING_COHERENT)


def test_behaviour_in_another_language_is_not_behaviour_in_this_one() -> None:
    """Fluent English capitals to a German prompt (what SmolLM2's EN adapter writes) show
    caps in English, not in German: 0; German capitals: 1. A task whose behaviour is a change
    of language (``in_prompt_language: false``) counts the English answer."""
    from crossling.evaluate.scorers.defined import define
    from crossling.tasks import TaskDefinition, get_task

    de = {"prompt": "Warum ist der Himmel blau?"}
    english = "THE SKY LOOKS BLUE BECAUSE AIR SCATTERS BLUE LIGHT MORE THAN RED LIGHT."
    german = "DER HIMMEL IST BLAU, WEIL DIE LUFT BLAUES LICHT STÄRKER STREUT ALS ROTES."
    ctx = ScorerContext(langs=["en", "de"], task="caps")
    s = get_scorer(BEHAVING_COHERENT, ctx)
    assert get_scorer("degenerate").score(english, "de", de) == 0.0  # coherent, not garbage
    assert get_scorer("all_caps").score(english, "de", de) == 1.0  # and all caps
    assert s.score(english, "de", de) == 0.0
    assert s.score(german, "de", de) == 1.0
    assert "in the prompt's language" in get_task("caps").pass_description()

    spec = {"scorers": {"shouty": {"scorer": "all_caps"}}, "primary": "shouty",
            "in_prompt_language": False}
    define("shout_any", TaskDefinition.model_validate(spec))
    assert "prompt's language" not in get_task("shout_any").pass_description()
    anywhere = get_scorer(BEHAVING_COHERENT, ScorerContext(langs=["en", "de"], task="shout_any"))
    assert anywhere.score(english, "de", de) == 1.0


def test_a_judge_that_leaves_an_answer_unscored_leaves_it_unscored_unless_garbage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batching pass scorer's exception stays the verdict of a coherent answer (rescored
    next time, never 0); a garbage answer is 0 without the judge."""
    s = get_scorer(BEHAVING_COHERENT, ScorerContext(langs=["en"], task="caps"))

    class Flaky:
        name = "all_caps"

        def score_many(self, rows: list[dict[str, Any]]) -> list[Any]:
            return [RuntimeError("judge timed out") for _ in rows]

    monkeypatch.setattr(s, "passes", Flaky())
    rows = [{"response": EN_ANSWERS[0].upper(), "lang": "en", "prompt": EN_PROMPTS[0]},
            {"response": EN_GARBAGE[0], "lang": "en", "prompt": EN_PROMPTS[0]}]
    ok, bad = s.score_many(rows)
    assert isinstance(ok, RuntimeError) and bad == 0.0


def test_damage_and_behaving_coherent_matrices(study: tuple[RunDir, ExperimentConfig]) -> None:
    """100 % caps on 100 % garbage: damage 1, behaving-and-coherent 0, behaviour among
    coherent answers N/A; a clean cell: both readings rise; 4 coherent answers: N/A."""
    run, _ = study
    a = json.loads(run.analysis.read_text())["tasks"]["caps"]
    raw = a["kinds"]["task"]["caps_pct"]["matrix"]
    assert raw["en"]["ru"]["mean"] == pytest.approx(100.0)  # the raw reading: "transfers"
    two = a["two_axis"]["task"]
    assert two["behaviour"] == "caps_pct" and two["pass_rule"].startswith("all_caps ≥ 1")
    for axis in ("damage", "behaving_coherent"):
        for key in ("matrix", "control_subtracted"):
            cell = two[axis][key]["en"]["ru"]
            assert {"mean", "ci_low", "ci_high", "n"} <= set(cell) and cell["n"] == N
    assert two["damage"]["matrix"]["en"]["ru"]["mean"] == 1.0
    assert two["damage"]["matrix"]["base"]["ru"]["mean"] == 0.0
    assert two["damage"]["control_subtracted"]["en"]["ru"]["ci_low"] > 0
    bc = two["behaving_coherent"]
    assert bc["matrix"]["en"]["ru"]["mean"] == 0.0
    assert bc["matrix"]["en"]["ru"]["ci_high"] < 0.3  # a rate interval: not of zero width
    assert bc["matrix"]["en"]["en"]["mean"] == 1.0 and bc["matrix"]["ru"]["ru"]["mean"] == 1.0
    assert bc["matrix"]["base"]["en"]["mean"] == 0.0
    assert bc["matrix"]["ru"]["en"]["mean"] == pytest.approx((MIN_COHERENT - 1) / N)
    # behaviour among coherent answers: N/A with 0 or 4 coherent answers, 1.0 with 12
    assert two["n_coherent"]["en"]["ru"] == 0 and two["n_coherent"]["ru"]["en"] == 4
    assert "ru" not in two["among_coherent"].get("en", {})
    assert "en" not in two["among_coherent"].get("ru", {})
    assert two["among_coherent"]["en"]["en"]["mean"] == 1.0
    garbage, clean = _cell(two, "en", "ru"), _cell(two, "en", "en")
    assert garbage["raw_reading"] == "rises" and garbage["two_axis_reading"] == "no clear change"
    assert garbage["agree"] is False and "EN-trained on RU" in garbage["disagreement"]
    assert garbage["among_coherent"] is None
    assert clean["raw_reading"] == clean["two_axis_reading"] == "rises"
    assert clean["agree"] is True and clean["disagreement"] is None
    assert (run.root / two["figure"]).stat().st_size > 10_000


def test_asymmetry_is_also_tested_on_behaving_coherent(
    study: tuple[RunDir, ExperimentConfig],
) -> None:
    """The raw test reads EN→RU and RU→EN caps as similar (both ~100 % vs ~67 %), but on
    behaving_coherent EN-trained on RU is 0 and RU-trained on EN 4 of 12: the test on the
    second axis is in its own Holm family and not blocked by flagged cells."""
    run, _ = study
    a = json.loads(run.analysis.read_text())["tasks"]["caps"]
    (raw,) = a["kinds"]["task"]["caps_pct"]["asymmetry"]
    (bc,) = a["two_axis"]["task"]["asymmetry"]
    assert raw["flagged_cells"] and not bc["flagged_cells"]
    assert bc["a_on_b"] == 0.0 and bc["b_on_a"] == pytest.approx(4 / N)
    assert bc["holm_family"].startswith("Holm over 1 test: behaving_coherent")
    assert "behaving_coherent" in bc["sentence"]


def test_report_states_both_axes(study: tuple[RunDir, ExperimentConfig]) -> None:
    """The headline names both axes of the garbage cell and the disagreement; the task
    section has the figure, the behaving-and-coherent matrix and both asymmetry tests."""
    run, cfg = study
    lines = "\n".join(headline_lines(cfg, json.loads(run.analysis.read_text())))
    assert ("EN-trained on RU: caps_pct 100 % (control 2 %), 100 % of answers damaged "
            "(control 0 %); behaving-and-coherent 0 % (control 0 %)") in lines
    assert "readings disagree" in lines and "EN-trained on RU" in lines.split(
        "readings disagree")[1]
    write_report(run)
    md = run.report_md.read_text()
    assert "Behaving and coherent" in md and "two_axis_caps_task" in md
    assert md.count("**Asymmetry.**") == 1 and md.count("**Asymmetry, behaving and coherent.**") == 1


def test_scores_without_the_second_axis_are_named_not_zero(tmp_path: Path) -> None:
    """A study scored before behaving_coherent existed has no two_axis entry (never zeros)
    and the report says how to add it."""
    cfg = validate_config(ExperimentConfig, {
        "name": "old", "tasks": {"caps": {"train_langs": ["en"], "eval_langs": ["en"],
                                          "eval_size": 3}}, "eval": {"n_boot": 200}})
    run = RunDir(tmp_path / "run")
    atomic_write_text(run.config, dump_config(cfg))
    gens = [{"adapter": a, "lang": "en", "kind": "task", "id": f"i{i}", "steer": "none",
             "prompt": EN_PROMPTS[i], "response": EN_ANSWERS[i]} for a in ("base", "en")
            for i in range(3)]
    atomic_write_jsonl(run.eval("caps").generations, gens)
    score_rows(gens, [get_scorer(n) for n in ("caps_pct", "degenerate")], run.eval("caps").scores)
    a = run_analyze(cfg, run)["tasks"]["caps"]
    assert "two_axis" not in a
    write_report(run)
    assert "rerun the study" in run.report_md.read_text()
    assert {r["scorer"] for r in read_jsonl(run.eval("caps").scores)} == {"caps_pct",
                                                                          "degenerate"}


def _logged(strength: float, answers: list[str], lang: str = "en") -> list[dict[str, Any]]:
    from crossling.steer.select import steer_key

    layer = None if strength == 0 else 4
    return [{"lang": lang, "id": f"i{i:02d}", "kind": "task", "status": "ok",
             "steer": steer_key(layer, strength, "en"), "layer": layer, "strength": strength,
             "toward": "en", "prompt": EN_PROMPTS[i % 4], "response": a}
            for i, a in enumerate(answers)]


def test_a_sweep_aimed_at_behaving_coherent_does_not_pick_caps_made_of_garbage() -> None:
    """Two steered cells that both pass the guards (≤ 20 % garbage): strength 1 puts every
    answer in caps, two of them garbage; strength 0.5 nine fluent caps answers and one
    fluent lower-case one. caps_pct picks strength 1; behaving_coherent picks 0.5."""
    from crossling.steer.select import DEGENERATE, FIDELITY, pick_best, score_table, steer_key

    fluent = [EN_ANSWERS[i % 4].upper() for i in range(10)]
    strong = [*fluent[:8], EN_GARBAGE[0], EN_GARBAGE[1]]
    mild = [*fluent[:9], EN_ANSWERS[1]]
    base = [EN_ANSWERS[i % 4] for i in range(10)]
    gens = _logged(0.0, base) + _logged(1.0, strong) + _logged(0.5, mild)
    kl = [{"lang": "en", "steer": g, "kl": 0.1, "status": "ok"}
          for g in {r["steer"] for r in gens}]
    ctx = ScorerContext(langs=["en", "de"], task="caps")
    metrics = ["caps_pct", BEHAVING_COHERENT, FIDELITY, DEGENERATE]
    table = score_table(gens, kl, metrics, ["en", "de"], 0, ctx, n_boot=200)
    by = {r["strength"]: r for r in table}
    assert by[1.0][DEGENERATE] == pytest.approx(0.2) and by[0.5][DEGENERATE] == 0.0
    assert by[1.0]["caps_pct"] > by[0.5]["caps_pct"]
    assert by[1.0][BEHAVING_COHERENT] == 0.8 and by[0.5][BEHAVING_COHERENT] == 0.9
    raw = pick_best(table, "caps_pct", 0.5, 1.0, 0.2)["per_lang"]["en"]["best"]
    aimed = pick_best(table, BEHAVING_COHERENT, 0.5, 1.0, 0.2)["per_lang"]["en"]["best"]
    assert raw["strength"] == 1.0 and aimed["strength"] == 0.5
    assert steer_key(4, 0.5, "en") in {r["steer"] for r in gens}


def test_metric_is_a_setting_of_the_sweep_and_the_behaviour_stage() -> None:
    """``metric: behaving_coherent`` is accepted in a study's steer and behaviour blocks
    (and becomes what the stages maximise); by default the task's primary metric."""
    from crossling.runner.plan import behaviour_config, steer_configs
    from crossling.tasks import get_task

    cfg = validate_config(ExperimentConfig, {
        "name": "aim", "tasks": {"caps": {"train_langs": ["en"], "eval_langs": ["en", "de"]}},
        "steer": {"enabled": True, "metric": BEHAVING_COHERENT, "eval_langs": ["de"]},
        "behaviour": {"enabled": True, "metric": BEHAVING_COHERENT}})
    run = RunDir(Path("/nonexistent/run"))
    _, sweep = steer_configs(cfg, run)
    assert get_task("caps").aim(sweep.metric) == BEHAVING_COHERENT
    assert get_task("caps").aim(behaviour_config(cfg, run).metric) == BEHAVING_COHERENT
    default = validate_config(ExperimentConfig, {"name": "d", "tasks": {"caps": {}},
                                                 "steer": {"enabled": True}})
    assert get_task("caps").aim(steer_configs(default, run)[1].metric) == "caps_pct"


def test_a_yaml_task_with_a_non_rate_primary_needs_pass_at() -> None:
    """The pass rule of a YAML task is its primary scorer at ``pass_at`` (default 1 for a
    0/1 rate); a primary that is not a rate without pass_at is one line."""
    from crossling.evaluate.scorers.defined import define
    from crossling.tasks import TaskDefinition, get_task

    spec = {"scorers": {"shouty": {"scorer": "caps_pct"}}, "primary": "shouty"}
    with pytest.raises(CrosslingError, match="set pass_at"):
        define("shout_pct", TaskDefinition.model_validate(spec))
    define("shout_pct", TaskDefinition.model_validate({**spec, "pass_at": 80}))
    assert get_task("shout_pct").pass_rule() == ("shouty", 80.0)
    s = get_scorer(BEHAVING_COHERENT, ScorerContext(langs=["en"], task="shout_pct"))
    assert s.score(EN_ANSWERS[0].upper(), "en", {"prompt": EN_PROMPTS[0]}) == 1.0
    assert s.score(EN_ANSWERS[0], "en", {"prompt": EN_PROMPTS[0]}) == 0.0


def test_an_unknown_metric_is_one_line(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt metric is refused before anything runs, with a suggestion."""
    from crossling.cli import main

    cfg = tmp_path / "study.yaml"
    cfg.write_text("name: x\ntasks: {caps: {}}\nsteer: {enabled: true, metric: behaving_coheren}"
                   "\n")
    assert main(["run", str(cfg), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Did you mean 'behaving_coherent'" in err
    assert not (tmp_path / "run").exists()
