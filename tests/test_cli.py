"""The command line: wrong usage exits 2, other failures 1, each with a specific reason."""

from __future__ import annotations

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
