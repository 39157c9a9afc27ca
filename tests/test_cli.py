"""The ``crossling`` command line: usage errors, --version, -v/-q, overrides."""

from __future__ import annotations

import logging

import pytest

from crossling import __version__
from crossling.cli import hoist_verbosity, main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scor"], "No such command 'scor'"),
        (["trian"], "Did you mean 'train'?"),
        (["train", "--bogus"], "No such option: --bogus"),
        (["train", "--max-steps", "x"], "Invalid value for '--max-steps'"),
        (["run"], "Missing argument"),
        (["data", "biuld"], "Did you mean 'build'?"),
    ],
)
def test_usage_errors_exit_2_with_usage_line(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("Usage: crossling")
    assert message in err
    assert "Traceback" not in err


def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"crossling {__version__}"


def test_help_exits_0(capsys) -> None:
    assert main(["train", "--help"]) == 0
    assert "--max-steps" in capsys.readouterr().out


def test_verbosity_flags_anywhere() -> None:
    assert hoist_verbosity(["run", "c.yaml", "-v", "--out", "x"]) == ["-v", "run", "c.yaml",
                                                                      "--out", "x"]
    assert hoist_verbosity(["run", "--", "-q"]) == ["run", "--", "-q"]


def test_quiet_and_verbose_set_the_log_level(capsys) -> None:
    main(["data", "show", "--help", "-q"])
    assert logging.getLogger("crossling").level == logging.WARNING
    main(["-v", "data", "show", "--help"])
    assert logging.getLogger("crossling").level == logging.DEBUG
    main(["data", "show", "--help"])
    assert logging.getLogger("crossling").level == logging.INFO
