"""The `leann` parser and dispatch, in this process: help, usage errors, defaults, build overrides."""

from __future__ import annotations

import pytest

from leann_cli.commands.build import overrides
from leann_cli.main import build_parser, main
from leann_cli.settings import BuildOptions
from leann_engine import SearchParams

COMMANDS = ["build", "search", "ask", "list", "remove", "reindex", "daemon"]


@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS]])
def test_help_of_every_command(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([*command, "--help"])
    assert e.value.code == 0 and "usage: leann" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], "invalid choice"),
        (["search", "docs"], "required: query"),
        (["search", "../etc", "q"], "not valid"),
        (["search", "docs", "q", "--top-k", "0"], "expected a positive integer, got '0'"),
        (["search", "docs", "q", "--mode", "fuzzy"], "invalid choice: 'fuzzy'"),
        (["build", "docs", "--chunk-overlap", "-1"], "expected an integer >= 0"),
    ],
)
def test_usage_errors_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_search_defaults_are_the_engines():
    args = build_parser().parse_args(["search", "docs", "q"])
    engine = SearchParams()
    assert (args.top_k, args.complexity, args.mode) == (engine.top_k, engine.complexity, "hybrid")


def test_build_complexity_has_its_own_name_and_keeps_the_old_one():
    parse = build_parser().parse_args
    assert parse(["build", "x", "--build-complexity", "50"]).build_complexity == 50
    assert parse(["build", "x", "--complexity", "60"]).build_complexity == 60


def test_remove_takes_yes_and_still_the_old_force():
    parse = build_parser().parse_args
    assert parse(["remove", "x", "--yes"]).yes and parse(["remove", "x", "-f"]).yes
    assert not parse(["remove", "x"]).yes


def test_build_flags_not_given_keep_the_stored_options():
    stored = BuildOptions(include_hidden=True, is_recompute=False, graph_degree=12, build_complexity=48).to_record()
    args = build_parser().parse_args(["build", "x"])
    assert BuildOptions.resolve(stored, overrides(args)).to_record() == stored
    args = build_parser().parse_args(["build", "x", "--graph-degree", "20", "--chunk-size", "128"])
    resolved = BuildOptions.resolve(stored, overrides(args))
    assert (resolved.graph_degree, resolved.chunk_size, resolved.is_recompute) == (20, 128, False)
    assert resolved.include_hidden and resolved.build_complexity == 48


def test_errors_are_one_line_with_status_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LEANN_BASE_DIR", str(tmp_path))
    assert main(["search", "docs", "q", "--no-daemon"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("leann: error: no index named 'docs'") and err.count("\n") == 1
    assert main(["build", "docs"]) == 1 and "--docs is required" in capsys.readouterr().err
    assert main(["build", "docs", "--docs", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert "missing does not exist" in err and "Traceback" not in err
    assert main(["list"]) == 0 and "no indexes under" in capsys.readouterr().out
