"""Tracking benchmark: modeldeck and MLflow side by side, in one invocation (issue 2).

    python bench/tracking.py [--repeat 3] [--quick] [--json out.json] [--mlflow-python PATH]

Each measurement runs in a fresh process (``_worker_modeldeck.py`` / ``_worker_mlflow.py``,
the scenarios themselves are in ``_common.py``) in a fresh temp dir; the stores of both
systems live under one parent dir, so on one file system. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from _common import TOP, expected_search
from _venv import BENCH, console, find_mlflow_python, sh

FULL = {"a": 10_000, "b_calls": 10, "b_keys": 1_000, "c": 1_000, "d": 10_000, "other": 5_000}
QUICK = {"a": 1_000, "b_calls": 10, "b_keys": 100, "c": 100, "d": 1_000, "other": 500}
SEARCH_QUERIES = 7  # per process; the worker reports their median


class Bench:
    def __init__(self, parent: Path, mlflow_python: str) -> None:
        self.parent = parent
        self.python = {"modeldeck": sys.executable, "mlflow": mlflow_python}
        self.samples: dict[str, list[dict[str, Any]]] = {}
        self.errors: dict[str, str] = {}  # what failed -> the end of its stderr

    def fresh_dir(self, system: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{system}-", dir=self.parent))

    def env(self, system: str, workdir: Path) -> dict[str, str]:
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        if system == "modeldeck":
            env["MODELDECK_HOME"] = str(workdir / "md")
        else:
            env.update(
                MLFLOW_TRACKING_URI=f"sqlite:///{workdir}/mlflow.db",
                MLFLOW_ENABLE_ASYNC_LOGGING="false",  # the default mode; async is asked per call
                MLFLOW_DISABLE_TELEMETRY="true",
                DO_NOT_TRACK="1",
                GIT_PYTHON_REFRESH="quiet",
            )
        return env

    def _run(self, key: str, system: str, cmd: list[Any], workdir: Path | None) -> None:
        workdir = workdir or self.fresh_dir(system)
        t0 = time.perf_counter()
        proc = sh(cmd, cwd=workdir, env=self.env(system, workdir))
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            self.errors[f"{key}: {' '.join(map(str, cmd))}"] = proc.stderr[-1500:]
            return
        # a worker prints its own timings (a JSON line); other commands are timed from outside
        worker = key[0] != "e"
        result = json.loads(proc.stdout.splitlines()[-1]) if worker else {"seconds": wall}
        self.samples.setdefault(key, []).append(result)

    def worker(self, key: str, system: str, *args: Any, workdir: Path | None = None) -> None:
        self._run(
            key, system, [self.python[system], BENCH / f"_worker_{system}.py", *args], workdir
        )

    def wall(self, key: str, system: str, cmd: list[Any], times: int) -> None:
        """Wall time of ``cmd`` in a fresh interpreter, after one untimed run (warm caches)."""
        if sh(cmd, cwd=self.parent, env=self.env(system, self.parent)).returncode == 0:
            for _ in range(times):
                self._run(key, system, cmd, None)
        else:
            self._run(key, system, cmd, None)  # records the error once

    def run(self, systems: list[str], size: dict[str, int], repeat: int) -> None:
        big = {s: self.fresh_dir(s) for s in systems}
        for s in systems:
            console.print(f"[dim]{s}: populating a store of {size['d']:,}+{size['other']:,} runs")
            self.worker(f"populate/{s}", s, "populate", size["d"], size["other"], workdir=big[s])
        for rep in range(repeat):
            console.print(f"[dim]repetition {rep + 1}/{repeat}")
            for s in systems:
                # modeldeck has one mode (buffered, durable after flush); MLflow has two
                for mode in ["sync", "async"] if s == "mlflow" else [None]:
                    key, extra = (f"{s}/{mode}", [mode]) if mode else (s, [])
                    self.worker(f"a/{key}", s, "log_metric", size["a"], *extra)
                    self.worker(
                        f"b/{key}", s, "log_metrics", size["b_calls"], size["b_keys"], *extra
                    )
                runs_dir = self.fresh_dir(s)
                self.worker(f"c/{s}", s, "runs", size["c"], workdir=runs_dir)
                self.worker(f"d1/{s}", s, "search", SEARCH_QUERIES, workdir=runs_dir)
                self.worker(f"d2/{s}", s, "search", SEARCH_QUERIES, workdir=big[s])
        console.print("[dim]imports and --help")
        for s in systems:
            times = 1 if repeat == 1 else max(repeat, 5)
            self.wall(f"e1/{s}", s, [self.python[s], "-c", f"import {s}"], times)
            script = Path(self.python[s]).parent / s  # the console script; no resolve(): venvs
            self.wall(f"e2/{s}", s, [script, "--help"], times)

    def check_search(self, size: dict[str, int]) -> None:
        """Both systems must return exactly the expected top runs: the stores hold equal data."""
        for key, n in (("d1", size["c"]), ("d2", size["d"])):
            matching, top = expected_search(n)
            console.print(f"[dim]search over {n:,} runs: {matching:,} match, top {len(top)} shown")
            for s in ("modeldeck", "mlflow"):
                for result in self.samples.get(f"{key}/{s}", []):
                    if [round(v, 9) for v in result["m0"]] != [round(v, 9) for v in top]:
                        self.errors[f"{key}/{s}: wrong search result"] = f"{result['m0'][:5]}…"

    def median(self, key: str) -> float | None:
        values = [r["seconds"] for r in self.samples.get(key, [])]
        return statistics.median(values) if values else None


def fmt(seconds: float | None, count: int = 0) -> str:
    if seconds is None:
        return "n/a"
    text = f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
    return f"{text} · {count / seconds:,.0f}/s" if count else text


def report(bench: Bench, size: dict[str, int], args: argparse.Namespace) -> list[dict]:
    n_a, n_b, n_c, n_d = size["a"], size["b_calls"] * size["b_keys"], size["c"], size["d"]
    a = f"(a) {n_a:,} × log_metric"
    b = f"(b) {size['b_calls']} × log_metrics({size['b_keys']:,})"
    # label, scenario, MLflow's variant, count for the rate, target: (kind, value)
    lines = [
        (f"{a} · MLflow default", "a", "/sync", n_a, ("×", 50)),
        (f"{a} · MLflow async", "a", "/async", n_a, (">", 1)),
        (f"{b} · MLflow default", "b", "/sync", n_b, ("×", 3)),
        (f"{b} · MLflow async", "b", "/async", n_b, None),
        (f"(c) {n_c:,} runs, 5 params + 5 metrics", "c", "", n_c, ("×", 5)),
        (f"(d) search top {TOP} of {n_c:,} runs", "d1", "", 0, ("×", 5)),
        (f"(d) search top {TOP} of {n_d:,} (+{size['other']:,}) runs", "d2", "", 0, ("×", 5)),
        ("(e) python -c 'import X'", "e1", "", 0, ("s", 0.25)),
        ("(e) X --help", "e2", "", 0, ("s", 0.35)),
    ]
    reps = "1 repetition" if args.repeat == 1 else f"medians of {args.repeat} repetitions"
    table = Table(title=f"modeldeck vs MLflow {args.mlflow_version}: tracking, {reps}")
    for col in ("scenario", "modeldeck", "MLflow", "ratio", "target", "result"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    rows = []
    for label, key, variant, count, target in lines:
        md, ml = bench.median(f"{key}/modeldeck"), bench.median(f"{key}/mlflow{variant}")
        ratio = ml / md if md and ml else None
        goal, ok = "—", None
        if target is not None:
            kind, value = target
            goal = {"×": f"≥ {value}×", ">": "faster", "s": f"≤ {value} s"}[kind]
            if (measured := md if kind == "s" else ratio) is not None:
                ok = {"×": measured >= value, ">": measured > value, "s": measured <= value}[kind]
        verdict = {None: "—", True: "[green]PASS", False: "[red]MISS"}[ok]
        ratio_text = f"{ratio:,.1f}×" if ratio else "n/a"
        table.add_row(label, fmt(md, count), fmt(ml, count), ratio_text, goal, verdict)
        rows.append({"scenario": label, "modeldeck": md, "mlflow": ml, "ratio": ratio, "pass": ok})
    console.print(table)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions; medians are shown")
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 repetition")
    parser.add_argument("--json", metavar="PATH", help="also save the figures as JSON")
    parser.add_argument("--mlflow-python", metavar="PATH", help="python of a venv with MLflow")
    parser.add_argument("--tmp", metavar="DIR", help="parent of the temp dirs (default: $TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1
    size = QUICK if args.quick else FULL
    mlflow_python = find_mlflow_python(args.mlflow_python)
    version = sh([mlflow_python, "-c", "import mlflow; print(mlflow.__version__)"])
    args.mlflow_version = version.stdout.strip() or "(not importable)"
    systems = ["modeldeck", "mlflow"]
    probe = "import modeldeck; modeldeck.start_run; modeldeck.flush; modeldeck.search_runs"
    if sh([sys.executable, "-c", probe]).returncode != 0:
        console.print("[yellow]modeldeck's SDK is not importable yet: measuring MLflow only")
        systems.remove("modeldeck")
    parent = Path(tempfile.mkdtemp(prefix="modeldeck-bench-", dir=args.tmp))
    console.print(f"[dim]stores under {parent}; MLflow {args.mlflow_version} at {mlflow_python}")
    bench = Bench(parent, mlflow_python)
    try:
        bench.run(systems, size, args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(parent, ignore_errors=True)
    bench.check_search(size)
    rows = report(bench, size, args)
    if args.json:
        out = {"sizes": size, "repeat": args.repeat, "mlflow": args.mlflow_version, "rows": rows}
        Path(args.json).write_text(json.dumps(out | {"samples": bench.samples}, indent=2))
        console.print(f"[dim]figures saved to {args.json}")
    for what, detail in bench.errors.items():
        console.print(what, style="red", markup=False)
        console.print(detail.strip(), markup=False, highlight=False)
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
