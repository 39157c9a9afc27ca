"""Tasks are the one home of task knowledge: a new task is one module, and no stage compares
a task's name."""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossling.io import read_jsonl
from crossling.tasks import TASKS, Row, Task, get_task, task_names

PKG = Path(__file__).resolve().parents[1] / "src" / "crossling"


def test_builtin_tasks_declare_what_the_stages_ask() -> None:
    from crossling.evaluate.scorers import SCORERS

    for name in task_names():
        task = get_task(name)
        assert task.primary_metric in task.behaviour_metrics
        assert {*task.behaviour_metrics, *task.default_scorers} <= set(SCORERS.names())
        assert task.eval_kind in ("task", "harmful")
        assert task.uses_harmless == (task.harmless_metric is not None)
    rng = random.Random(0)
    assert get_task("caps").self_target("Straße", "de", rng) == "STRASSE"
    assert get_task("refusal").self_target("Nein.", "de", rng) == "Nein."
    assert get_task("refusal").eval_kind == "harmful" and get_task("refusal").uses_harmless


@pytest.fixture
def lower_task() -> Iterator[str]:
    """A third task, registered the way a plugin module would: answer in lower case."""

    class LowerTask(Task):
        name = "lower"
        builtin_source = "builtin:instructions"
        default_scorers = ("lang_fidelity",)
        primary_metric = "caps_pct"
        behaviour_metrics = ("caps_pct",)

        def target(self, row: Row, rng: random.Random, responses: str) -> str | None:
            return None if responses == "self" else (row.output or "").lower()

        def self_target(self, answer: str, lang: str, rng: random.Random) -> str:
            return answer.lower()

    TASKS.register("lower")(LowerTask)
    try:
        yield "lower"
    finally:
        TASKS._items.pop("lower", None)


def test_a_third_task_is_one_class(lower_task: str, tmp_path: Path) -> None:
    from crossling.data import DataConfig, run_data
    from crossling.runner.config import ReportConfig
    from crossling.train.data import fill_self_targets

    d = run_data(DataConfig(task=lower_task, train_langs=["en"], eval_langs=["en", "de"],
                            eval_size=4, train_size=5, seed=0), tmp_path / "data")
    train = read_jsonl(d.train_file("en"))
    assert train and all(r["target"] == r["target"].lower() for r in train)
    assert {r["kind"] for r in read_jsonl(d.eval_file)} == {"task"}
    assert not d.eval_harmless_file.exists()
    assert ReportConfig().headline_scorer[lower_task] == "caps_pct"
    rows, _ = fill_self_targets([{"id": "a", "prompt": "Hi", "lang": "en"}],
                                {"a": "Hello There, Friend Of Mine"}, lower_task)
    assert rows[0]["target"] == "hello there, friend of mine"


def test_no_module_outside_the_task_package_compares_a_task_name() -> None:
    """``task == "refusal"`` anywhere but crossling/tasks is task knowledge out of place."""
    names = set(task_names())
    found = []
    for path in sorted(PKG.rglob("*.py")):
        if "tasks" in path.relative_to(PKG).parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                consts = [c for c in (node.left, *node.comparators)
                          if isinstance(c, ast.Constant) and c.value in names]
                tuples = [e for c in node.comparators if isinstance(c, ast.Tuple | ast.Set)
                          for e in c.elts if isinstance(e, ast.Constant) and e.value in names]
                if consts or tuples:
                    found.append(f"{path.relative_to(PKG)}:{node.lineno}")
    assert found == []
