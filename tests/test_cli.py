"""The command line: wrong usage exits 2, other failures 1, each with a specific reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import main


def test_a_malformed_peildatum_is_wrong_usage(home, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--peildatum", "15-02-2023"])
    assert exit_info.value.code == 2
    assert "not a date JJJJ-MM-DD" in capsys.readouterr().err


def test_a_missing_landing_folder_is_wrong_usage_naming_the_folder(home, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["run", "--landing", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_querying_before_anything_is_published_says_so(home, capsys):
    assert main(["sql", "select 1"]) == 1
    assert "nothing is published yet" in capsys.readouterr().err


def test_home_option_overrides_the_environment(home, tmp_path, capsys):
    for position, other in enumerate((tmp_path / "after", tmp_path / "before")):
        args = (
            ["status", "--home", str(other)] if position == 0 else ["--home", str(other), "status"]
        )
        assert main(args) == 0
        assert f"no runs yet under {other}" in capsys.readouterr().out


def test_exit_at_once_runs_the_exit_hooks_flushes_and_keeps_the_code():
    """``dwh run`` ends through exit_at_once: Prefect's exit hooks (stopping its temporary
    server) and buffered output must not be lost, and the exit code must stay exact."""
    program = (
        "import atexit, sys, threading, time\n"
        "from flows.cli import exit_at_once\n"
        "atexit.register(lambda: print('exit hook ran'))\n"
        "worker = threading.Thread(target=lambda: (time.sleep(0.2), print('thread done')))\n"
        "worker.start()\n"
        "sys.stdout.write('unflushed output; ')\n"
        "sys.stderr.write('a reason on stderr')\n"
        "exit_at_once(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 3
    assert done.stdout == "unflushed output; thread done\nexit hook ran\n"
    assert done.stderr == "a reason on stderr"


def test_the_console_script_exits_with_the_code_of_wrong_usage(home, tmp_path):
    dwh = str(Path(sys.executable).with_name("dwh"))
    missing = tmp_path / "nowhere"
    done = subprocess.run(
        [dwh, "run", "--landing", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert f"landing folder {missing} does not exist" in done.stderr


def test_the_command_line_does_not_import_dbt_or_great_expectations():
    """dbt is imported only when the transform runs, Great Expectations only when the gate
    runs: a night that has nothing to build pays for neither (seconds of import each)."""
    program = (
        "import sys, flows.cli, flows.nightly, flows.planning\n"
        "print(sorted(m for m in ('dbt', 'dbt.cli.main', 'great_expectations', 'pandas')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
