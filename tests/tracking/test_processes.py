"""Several processes on one embedded store, and a process killed while it logs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import modeldeck
from modeldeck.core.entities import RunStatus

WRITER = textwrap.dedent(
    """
    import sys, modeldeck
    worker = sys.argv[1]
    for r in range(20):
        with modeldeck.start_run(experiment="shared", name=f"{worker}-{r}"):
            modeldeck.log_params({f"p{i}": i for i in range(5)})
            for step in range(250):
                modeldeck.log_metric("loss", 1.0 / (step + 1))
            modeldeck.log_metrics({f"m{i}": float(i) for i in range(50)})
            modeldeck.set_tags({"worker": worker})
    print("done", worker)
    """
)

KILLED = textwrap.dedent(
    """
    import modeldeck
    with modeldeck.start_run(experiment="doomed", name="victim"):
        step = 0
        while True:
            for _ in range(1000):
                modeldeck.log_metric("loss", 1.0 / (step + 1), step=step)
                step += 1
            modeldeck.flush()
            print("flushed", step, flush=True)
    """
)


def _spawn(script: str, home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MODELDECK_HOME": str(home), "MODELDECK_USER": "alice"}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_four_processes_write_at_once_and_lose_nothing(home: Path) -> None:
    procs = [_spawn(WRITER, home, f"w{i}") for i in range(4)]  # all migrate an empty store too
    results = [p.communicate(timeout=240) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    runs = modeldeck.search_runs("shared", max_results=1000)
    assert len(runs) == 80
    assert {r.status for r in runs} == {RunStatus.FINISHED}
    assert all(len(r.params) == 5 and len(r.metrics) == 51 for r in runs)
    for run in runs[::7]:
        assert len(modeldeck.get_metric_history(run.id, "loss")) == 250


@pytest.mark.slow
def test_sigkill_leaves_a_consistent_store_and_the_run_failed(home: Path) -> None:
    proc = _spawn(KILLED, home)
    assert proc.stdout is not None
    flushed = 0
    for line in proc.stdout:
        flushed = int(line.split()[1])
        if flushed >= 5000:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    with sqlite3.connect(home / "modeldeck.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    (victim,) = modeldeck.search_runs("doomed")
    history = modeldeck.get_metric_history(victim.id, "loss")
    assert len(history) >= flushed  # everything acknowledged by flush() is there
    assert [m.step for m in history] == list(range(len(history)))  # and nothing half-written
    # the next read notices the process is gone
    assert modeldeck.get_run(victim.id).status is RunStatus.FAILED
