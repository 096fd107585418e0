"""`modeldeck runs list|show|search|compare|gc` over runs made with the SDK."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import modeldeck


def test_list_shows_runs_newest_first(cli, two_runs):
    a, b = two_runs
    result = cli("runs", "list")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert a[:8] in out and b[:8] in out
    assert out.index("beta") < out.index("alpha")
    assert "FINISHED" in out
    assert "auc" in out and "0.9" in out


def test_list_filters_by_experiment_and_limits(cli, two_runs):
    with modeldeck.start_run(experiment="other", name="gamma"):
        pass
    only_other = cli("runs", "list", "-e", "other").stdout
    assert "gamma" in only_other and "alpha" not in only_other
    limited = cli("runs", "list", "--max", "1")
    assert "gamma" in limited.stdout and "beta" not in limited.stdout
    assert "--max shows more" in limited.stdout


def test_list_json_is_valid_and_spells_nan(cli, two_runs):
    a, _ = two_runs
    result = cli("runs", "list", "--json")
    assert result.exit_code == 0
    runs = json.loads(result.stdout)
    by_id = {run["id"]: run for run in runs}
    assert by_id[a]["metrics"]["loss"] == "NaN"
    assert by_id[a]["params"] == {"lr": "0.1", "model": "gbm"}


def test_list_on_an_empty_store(cli):
    result = cli("runs", "list")
    assert result.exit_code == 0
    assert "No runs found" in result.stdout
    assert json.loads(cli("runs", "list", "--json").stdout) == []


def test_show_has_params_metrics_and_tags(cli, two_runs):
    a, _ = two_runs
    result = cli("runs", "show", a)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("alpha", a, "FINISHED", "lr", "0.1", "gbm", "auc", "0.8", "NaN", "alice"):
        assert text in out
    assert "[red]risk[/]" in out  # user data is never read as markup


def test_show_accepts_a_unique_prefix(cli, two_runs):
    a, _ = two_runs
    result = cli("runs", "show", a[:8], "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == a


def test_show_json_lists_children_and_artifacts(cli, tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with modeldeck.start_run(experiment="e", name="parent") as parent:
        modeldeck.log_artifact(tmp_path / "notes.txt")
        with modeldeck.start_run(name="kid") as kid:
            modeldeck.log_metric("inf", float("inf"))
    data = json.loads(cli("runs", "show", parent.id, "--json").stdout)
    assert data["children"] == [kid.id]
    assert data["experiment"] == "e"
    assert [a["path"] for a in data["artifacts"]] == ["notes.txt"]
    assert json.loads(cli("runs", "show", kid.id, "--json").stdout)["metrics"] == {
        "inf": "Infinity"
    }


def test_unknown_run_exits_1_without_traceback(cli):
    result = cli("runs", "show", "0123456789abcdef0123456789abcdef")
    assert result.exit_code == 1
    assert "no run with id" in result.stderr
    assert "Traceback" not in result.output
    assert cli("runs", "show", "zz-not-an-id").exit_code == 1


def test_search_with_a_filter_returns_only_matches(cli, two_runs):
    _, b = two_runs
    result = cli("runs", "search", "-f", "metrics.auc > 0.85", "--json")
    assert result.exit_code == 0, result.output
    assert [run["id"] for run in json.loads(result.stdout)] == [b]
    table = cli("runs", "search", "-e", "e", "-f", "params.lr = '0.1'").stdout
    assert "alpha" in table and "beta" not in table


def test_search_orders_by_metric(cli, two_runs):
    a, b = two_runs
    up = cli("runs", "search", "-o", "metrics.auc asc", "--json").stdout
    assert [run["id"] for run in json.loads(up)] == [a, b]
    down = cli("runs", "search", "-o", "metrics.auc desc", "--json").stdout
    assert [run["id"] for run in json.loads(down)] == [b, a]


def test_bad_filter_points_at_the_fault(cli, two_runs):
    result = cli("runs", "search", "-f", "metrics.auc >> 0.8")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    text_line = next(line for line in lines if "metrics.auc >> 0.8" in line)
    caret_line = lines[lines.index(text_line) + 1]
    assert caret_line.strip() == "^"
    assert caret_line.index("^") == text_line.index(">>")


def test_search_in_an_unknown_experiment_exits_1(cli):
    result = cli("runs", "search", "-e", "missing")
    assert result.exit_code == 1
    assert "missing" in result.stderr


def test_compare_highlights_a_differing_param(cli, two_runs, monkeypatch):
    a, b = two_runs
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    result = cli("runs", "compare", a, b)
    assert result.exit_code == 0, result.output
    rows = {_first_cell(line): line for line in result.stdout.splitlines()}
    bold_yellow = "\x1b[1;33m"
    assert bold_yellow in rows["lr"]
    assert bold_yellow not in rows["model"]
    assert "★ 0.9" in rows["auc"]


def _first_cell(line: str) -> str:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
    cells = plain.split("│")
    return cells[1].strip() if len(cells) > 2 else ""


def test_compare_json_marks_differences_and_best(cli, two_runs):
    a, b = two_runs
    result = cli("runs", "compare", a[:8], b, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    params = {row["key"]: row for row in data["params"]}
    metrics = {row["key"]: row for row in data["metrics"]}
    assert params["lr"]["differs"] and not params["model"]["differs"]
    assert metrics["auc"]["best"] == [b] and metrics["auc"]["goal"] == "max"
    assert metrics["loss"]["goal"] == "min"
    assert metrics["loss"]["values"] == {a: "NaN", b: 0.25}
    assert metrics["loss"]["best"] == [b]


def test_compare_needs_two_runs(cli, two_runs):
    result = cli("runs", "compare", two_runs[0])
    assert result.exit_code == 2


def test_gc_marks_a_killed_process_run_failed(cli):
    script = (
        "import sys, time, modeldeck\n"
        "run = modeldeck.start_run(experiment='e', name='doomed')\n"
        "print(run.id, flush=True)\n"
        "time.sleep(120)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    listed = json.loads(cli("runs", "list", "--json").stdout)
    assert [(r["id"], r["status"]) for r in listed] == [(run_id, "RUNNING")]

    result = cli("runs", "gc")
    assert result.exit_code == 0, result.output
    assert f"marked FAILED: {run_id}" in result.stdout
    assert json.loads(cli("runs", "show", run_id, "--json").stdout)["status"] == "FAILED"
    assert "No dead runs" in cli("runs", "gc").stdout
    assert json.loads(cli("runs", "gc", "--json").stdout) == []
