"""Plugins: tasks, scorers and generation backends from Python entry points.

The registry's own rules (read on first need, loaded on get, clashes, broken plugins,
``define``) are checked in-process against hand-written ``.dist-info`` folders on a
temporary ``sys.path`` entry; the real route — ``pip install`` of ``tests/plugin_dist`` into a
temporary folder, then crossling in a subprocess with that folder on ``PYTHONPATH`` — is
checked separately, up to a tiny study with the plugin's task and scorer.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import crossling.registry as registry_mod
from crossling.errors import CrosslingError
from crossling.io import read_jsonl
from crossling.paths import RunDir
from crossling.registry import Registry

GROUP = "crossling.test_widgets"
PLUGIN_DIST = Path(__file__).resolve().parent / "plugin_dist"


# --- in-process: the registry's rules on hand-written distributions -------------------------


def write_dist(root: Path, dist: str, entries: dict[str, str],
               modules: dict[str, str] | None = None, group: str = GROUP) -> None:
    """An installed distribution ``dist`` 1.0 under ``root``: a ``.dist-info`` with the entry
    points ``entries`` (name → "module:attr") and the ``modules`` (name → source)."""
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = [f"[{group}]", *(f"{k} = {v}" for k, v in entries.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for name, src in (modules or {}).items():
        (root / f"{name}.py").write_text(textwrap.dedent(src))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on ``sys.path`` to install hand-written distributions into; the modules
    imported from it are forgotten afterwards."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        if name.startswith("widgetplug"):
            del sys.modules[name]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The groups whose entry points the registry has read, in order."""
    calls: list[str] = []
    real = registry_mod._entry_points

    def spy(group: str) -> Any:
        calls.append(group)
        return real(group)

    monkeypatch.setattr(registry_mod, "_entry_points", spy)
    return calls


WIDGET = """
class Beta:
    name = "beta"

    def __init__(self, ctx=None):
        self.ctx = ctx
"""


def widgets() -> Registry[Any]:
    reg: Registry[Any] = Registry("widget", GROUP)
    reg.register("alpha")(type("Alpha", (), {}))
    return reg


def test_entry_points_are_read_on_first_need_and_loaded_on_get(site: Path,
                                                               reads: list[str]) -> None:
    write_dist(site, "widgetplug", {"beta": "widgetplug_b:Beta"}, {"widgetplug_b": WIDGET})
    reg = widgets()
    assert reg.get("alpha").__name__ == "Alpha" and "alpha" in reg
    assert reads == []  # built-ins never read entry points
    assert "beta" in reg and reads == [GROUP]
    assert reg.names() == ["alpha", "beta"] and list(reg) == ["alpha", "beta"]
    assert reg.plugin_names() == ["beta"]
    assert "widgetplug_b" not in sys.modules  # listed, not imported
    beta = reg.get("beta")
    assert beta.__name__ == "Beta" and "widgetplug_b" in sys.modules
    assert reg.get("beta") is beta and reads == [GROUP]  # read once, loaded once


def test_unknown_name_lists_plugins_and_suggests(site: Path) -> None:
    write_dist(site, "widgetplug", {"beta": "widgetplug_b:Beta"}, {"widgetplug_b": WIDGET})
    with pytest.raises(CrosslingError) as e:
        widgets().get("betta")
    msg = str(e.value)
    assert msg == "unknown widget 'betta'. Did you mean 'beta'? Known: alpha, beta."


def test_plugin_with_a_built_in_name_is_one_line_naming_the_distribution(site: Path) -> None:
    write_dist(site, "widgetplug", {"alpha": "widgetplug_a:Beta"}, {"widgetplug_a": WIDGET})
    reg = widgets()
    for look in (reg.names, lambda: reg.get("gamma"), lambda: "gamma" in reg):
        with pytest.raises(CrosslingError, match=r"widgetplug 1\.0") as e:
            look()
        assert "\n" not in str(e.value) and "widget plugin 'alpha'" in str(e.value)
        assert "built-in" in str(e.value)
    assert "widgetplug_a" not in sys.modules


def test_built_in_registered_after_plugins_were_read_clashes_too(site: Path) -> None:
    write_dist(site, "widgetplug", {"beta": "widgetplug_b:Beta"}, {"widgetplug_b": WIDGET})
    reg = widgets()
    reg.names()
    with pytest.raises(CrosslingError, match=r"widgetplug 1\.0"):
        reg.register("beta")(object)
    with pytest.raises(CrosslingError, match=r"widgetplug 1\.0"):
        reg.register_lazy("beta", "os:getcwd")


def test_two_plugins_with_one_name_clash(site: Path) -> None:
    write_dist(site, "widgetplug", {"beta": "widgetplug_b:Beta"}, {"widgetplug_b": WIDGET})
    write_dist(site, "widgetplug_two", {"beta": "widgetplug_c:Beta"}, {"widgetplug_c": WIDGET})
    with pytest.raises(CrosslingError, match="another plugin") as e:
        widgets().names()
    assert "widgetplug 1.0" in str(e.value) and "widgetplug_two 1.0" in str(e.value)


def test_broken_plugin_fails_when_got_not_when_listed(site: Path) -> None:
    write_dist(site, "widgetplug",
               {"beta": "widgetplug_b:Beta", "gone": "widgetplug_missing:Gone",
                "odd": "widgetplug_b:NUMBER"},
               {"widgetplug_b": WIDGET + "\nimport widgetplug_needs_this\nNUMBER = 3\n"})
    reg = widgets()
    assert reg.names() == ["alpha", "beta", "gone", "odd"]
    with pytest.raises(CrosslingError) as e:
        reg.get("beta")
    msg = str(e.value)
    assert "\n" not in msg
    for part in ("widget plugin 'beta'", "beta = widgetplug_b:Beta", "widgetplug 1.0",
                 "ModuleNotFoundError", "widgetplug_needs_this"):
        assert part in msg, (part, msg)
    with pytest.raises(CrosslingError, match="widgetplug_missing"):
        reg.get("gone")
    assert reg.get("alpha").__name__ == "Alpha"  # the rest still works


def test_plugin_object_must_fit_the_registry(site: Path) -> None:
    write_dist(site, "widgetplug", {"beta": "widgetplug_b:Beta", "odd": "widgetplug_b:NUMBER"},
               {"widgetplug_b": WIDGET + "\nNUMBER = 3\n"})
    with pytest.raises(CrosslingError, match="is 3, not callable"):
        widgets().get("odd")

    class Base:
        pass

    strict: Registry[Any] = Registry("widget", GROUP, subclass_of=Base)
    with pytest.raises(CrosslingError, match="not a Base subclass") as e:
        strict.get("beta")
    assert "widgetplug 1.0" in str(e.value)


def test_define_replaces_definitions_but_never_shadows(site: Path) -> None:
    write_dist(site, "widgetplug", {"beta": "widgetplug_b:Beta"}, {"widgetplug_b": WIDGET})
    reg = widgets()
    reg.register_lazy("lazy", "os:getcwd")
    first, second = object(), object()
    reg.define("mine", first)
    assert reg.get("mine") is first and "mine" in reg.names()
    reg.define("mine", second)  # a second study may redefine its own task
    assert reg.get("mine") is second
    with pytest.raises(ValueError, match="'alpha' is built in; choose another name"):
        reg.define("alpha", first)
    with pytest.raises(ValueError, match="'lazy' is built in; choose another name"):
        reg.define("lazy", first)
    with pytest.raises(ValueError, match=r"registered by a plugin .*widgetplug 1\.0.*; choose"):
        reg.define("beta", first)
    with pytest.raises(ValueError, match="a study config defined it first"):
        reg.register("mine")(object)
    assert reg.get("lazy") is os.getcwd  # register_lazy still works
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("alpha")(object)


def test_registry_without_group_reads_no_entry_points(reads: list[str]) -> None:
    reg: Registry[int] = Registry("number")
    reg.register("one")(1)
    assert reg.names() == ["one"] and "two" not in reg and reads == []
    with pytest.raises(CrosslingError, match=r"unknown number 'on'\. Did you mean 'one'"):
        reg.get("on")


def test_importing_crossling_reads_no_entry_points() -> None:
    """Importing crossling and its registries, and getting built-ins, reads no entry points."""
    code = textwrap.dedent("""
        import crossling.registry as r
        calls = []
        real = r._entry_points
        r._entry_points = lambda group: calls.append(group) or real(group)
        import crossling
        from crossling.tasks import TASKS, get_task
        from crossling.evaluate.scorers import SCORERS, get_scorer
        from crossling.evaluate.backends.base import BACKENDS
        get_task("caps"), get_scorer("caps_pct")
        assert calls == [], calls
        assert [TASKS.group, SCORERS.group, BACKENDS.group] == [
            "crossling.tasks", "crossling.scorers", "crossling.backends"]
        TASKS.names()
        assert calls == ["crossling.tasks"], calls
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --- a real installation: pip installs tests/plugin_dist into a temporary folder --------------


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tests/plugin_dist`` installed by pip (no index, no deps, no build isolation) into a
    temporary folder: the .venv is never touched, nor is the source folder (built from a copy,
    since setuptools writes build/ and *.egg-info beside the sources)."""
    for need in ("pip", "setuptools"):
        if importlib.util.find_spec(need) is None:
            pytest.skip(f"{need} is not installed in this environment; cannot install the "
                        "demo plugin")
    tmp = tmp_path_factory.mktemp("plugin")
    src, site = tmp / "src", tmp / "site"
    shutil.copytree(PLUGIN_DIST, src, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
           "--no-index", "--no-cache-dir", "--disable-pip-version-check", "--quiet",
           "--target", str(site), str(src)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PIP_NO_INPUT": "1"})
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    assert list(site.glob("crossling_plugin_demo-0.1.0.dist-info"))
    return site


def run_with_plugin(site: Path, args: list[str], timeout: float = 600) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=timeout)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_installed_plugin_adds_a_task_a_scorer_and_a_backend(plugin_site: Path) -> None:
    code = textwrap.dedent("""
        import json
        import random
        from crossling.errors import CrosslingError
        from crossling.tasks import Task, get_task, task_names
        from crossling.evaluate.scorers import get_scorer, rate_scorers, score_bounds
        from crossling.evaluate.backends.base import GenerationConfig, get_backend

        out = {}
        task = get_task("shout")
        out["task"] = [isinstance(task, Task), task.primary_metric, task.self_target("hi.", "en", random.Random(0))]
        out["tasks"] = task_names()
        scorer = get_scorer("exclaims")
        out["scores"] = [scorer.score(t, "en", {}) for t in ("Yes!", "No.", " ")]
        out["rate"] = "exclaims" in rate_scorers() and score_bounds()["exclaims"] == (0, 1)
        backend = get_backend("echo")(None, {}, generation=None)
        out["echo"] = backend.generate(["Hello."], GenerationConfig())[0].response
        errors = []
        for get, name in ((get_task, "shoutt"), (get_scorer, "exclaim"), (get_backend, "ech")):
            try:
                get(name)
            except CrosslingError as e:
                errors.append(str(e))
        out["errors"] = errors
        print(json.dumps(out))
    """)
    out = json.loads(run_with_plugin(plugin_site, ["-c", code], timeout=300))
    assert out["task"] == [True, "exclaims", "hi!"]
    assert out["tasks"] == ["caps", "refusal", "shout"]
    assert out["scores"] == [1.0, 0.0, None] and out["rate"] is True
    assert out["echo"] == "Hello!"
    task_err, scorer_err, backend_err = out["errors"]
    assert task_err == ("unknown task 'shoutt'. Did you mean 'shout'? "
                        "Known: caps, refusal, shout.")
    assert scorer_err.startswith("unknown scorer 'exclaim'. Did you mean 'exclaims'?")
    assert "exclaims" in scorer_err.split("Known:")[1]
    assert backend_err == ("unknown generation backend 'ech'. Did you mean 'echo'? "
                           "Known: echo, hf, vllm.")


@pytest.mark.slow
def test_study_with_the_plugin_task_and_scorer(plugin_site: Path, tiny_model_dir: Path,
                                               tmp_path: Path) -> None:
    """``crossling run`` of a tiny study whose task and scorer come from the plugin: the
    adapters are trained on shouted targets and every eval row is scored by ``exclaims``."""
    cfg = {
        "name": "plugin", "seed": 0, "seeds": [0],
        "model": {"name": str(tiny_model_dir), "threads": 1, "device": "cpu"},
        "tasks": {"shout": {"train_langs": ["en"], "eval_langs": ["en", "de"],
                            "eval_size": 3, "train_size": 6}},
        "train": {"max_steps": 2, "warmup_steps": 1, "batch_size": 2, "grad_accum": 1,
                  "save_every": 2, "lr": 1e-3, "max_length": 64, "progress": False},
        "eval": {"generation": {"max_new_tokens": 4, "batch_size": 8}, "n_boot": 100,
                 "scorers": {"shout": ["exclaims", "lang_fidelity"]}},
        "steer": None,
        "report": {"examples_per_lang": 1},
    }
    cfg_path = tmp_path / "study.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    run = RunDir(tmp_path / "run")
    run_with_plugin(plugin_site, ["-m", "crossling.cli", "run", str(cfg_path),
                                  "--out", str(run.root)])
    targets = [r["target"] for r in read_jsonl(run.data("shout").train_file("en"))]
    assert targets and all(t.endswith("!") for t in targets)  # the plugin task's targets
    scores = read_jsonl(run.eval("shout").scores)
    exclaims = [r for r in scores if r["scorer"] == "exclaims"]
    assert exclaims and {r["adapter"] for r in exclaims} == {"base", "en"}
    assert {r["lang"] for r in exclaims} == {"en", "de"}
    assert all(r["value"] in (0.0, 1.0, None) for r in exclaims)
    matrix = json.loads(run.analysis.read_text())["tasks"]["shout"]["kinds"]["task"][
        "exclaims"]["matrix"]
    assert set(matrix) == {"base", "en"} and set(matrix["en"]) == {"en", "de"}
    assert "shout" in run.report_md.read_text()
