"""Drift benchmark: modeldeck's `dataset_drift` and Evidently's `DataDriftPreset`, one run.

    python bench/drift.py [--sizes 100000,1000000] [--quick] [--json OUT]
                          [--evidently-python PATH] [--no-columns] [--tmp DIR] [--keep]

Reference and current frames of N rows × 20 columns (15 numeric, 5 categorical), drift
injected in 7 known columns, are generated with numpy (seeded) and written once to parquet,
so both sides read exactly the same data. Each side runs in a fresh process per size:
modeldeck in ours (`dataset_drift`, the frames in memory; then column by column straight
from the parquet files), Evidently 0.7.23 in its own venv (`Report([DataDriftPreset()])`,
`_drift_evidently.py`). Timed: the drift computation over frames already loaded. Memory: the
process's peak resident set during it. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SEED = 20261127
SIZES = (100_000, 1_000_000)
QUICK_SIZES = (5_000, 50_000)
SPEED_TARGET = 10.0  # × faster than Evidently at TARGET_ROWS
TARGET_ROWS = 1_000_000
now = time.perf_counter

Draw = Callable[["np.random.Generator", int, bool], Any]  # rng, rows, drifted -> values


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "numeric" or "categorical"
    what: str  # the distribution, in words
    draw: Draw
    drift: str = ""  # what changes in the current frame; "" for none


def _num(draw: Callable[[Any, int], Any], shift: float = 0.0, missing: float = 0.0) -> Draw:
    """Numbers from ``draw``; the current frame's shifted by ``shift`` where drift is injected;
    a share ``missing`` of NaN."""

    def make(rng: Any, rows: int, drifted: bool) -> Any:
        values = draw(rng, rows)
        if drifted and shift:
            values = values + shift
        if missing:
            values = values.astype("float64")
            values[rng.random(rows) < missing] = float("nan")
        return values

    return make


def _cat(levels: list[str], p: list[float], q: list[float] | None = None,
         missing: float = 0.0) -> Draw:  # fmt: skip
    """Categories with frequencies ``p`` (``q`` in the current frame where drift is injected),
    a share ``missing`` of None."""

    def make(rng: Any, rows: int, drifted: bool) -> Any:
        import numpy as np

        probabilities = np.asarray(q if drifted and q else p, dtype=float)
        codes = rng.choice(len(levels), size=rows, p=probabilities / probabilities.sum())
        values = np.asarray(levels, dtype=object)[codes]
        if missing:
            values[rng.random(rows) < missing] = None
        return values

    return make


def _zipf(k: int, a: float = 1.0) -> list[float]:
    return [1.0 / (i + 1) ** a for i in range(k)]


COLUMNS = [
    Column("num_00", "numeric", "normal(50, 10)", _num(lambda r, n: r.normal(50, 10, n), 4.0),
           "mean +4 (0.4 sd)"),
    Column("num_01", "numeric", "lognormal(3, 0.6)",
           _num(lambda r, n: r.lognormal(3, 0.6, n), 5.0), "mean +5 (0.32 sd)"),
    Column("num_02", "numeric", "uniform(0, 1)", _num(lambda r, n: r.uniform(0, 1, n), 0.15),
           "mean +0.15 (0.52 sd)"),
    Column("num_03", "numeric", "gamma(2, 2)", _num(lambda r, n: r.gamma(2, 2, n), 1.0),
           "mean +1 (0.35 sd)"),
    Column("num_04", "numeric", "exponential(1)", _num(lambda r, n: r.exponential(1, n), 0.25),
           "mean +0.25 (0.25 sd)"),
    Column("num_05", "numeric", "normal(0, 1)", _num(lambda r, n: r.normal(0, 1, n))),
    Column("num_06", "numeric", "normal(100, 25), 2% NaN",
           _num(lambda r, n: r.normal(100, 25, n), missing=0.02)),
    Column("num_07", "numeric", "lognormal(0, 1)", _num(lambda r, n: r.lognormal(0, 1, n))),
    Column("num_08", "numeric", "uniform(-5, 5)", _num(lambda r, n: r.uniform(-5, 5, n))),
    Column("num_09", "numeric", "student t(5)", _num(lambda r, n: r.standard_t(5, n))),
    Column("num_10", "numeric", "beta(2, 5)", _num(lambda r, n: r.beta(2, 5, n))),
    Column("num_11", "numeric", "two normals, 70/30",
           _num(lambda r, n: r.normal(0, 1, n) + 4.0 * (r.random(n) < 0.3))),
    Column("num_12", "numeric", "normal(10, 3) to 2 decimals",
           _num(lambda r, n: r.normal(10, 3, n).round(2))),
    Column("num_13", "numeric", "poisson(4), integers", _num(lambda r, n: r.poisson(4, n))),
    Column("num_14", "numeric", "integers 0..3 (4 distinct)",
           _num(lambda r, n: r.integers(0, 4, n))),
    Column("cat_0", "categorical", "3 colours 50/30/20",
           _cat(["red", "green", "blue"], [0.5, 0.3, 0.2], [0.3, 0.3, 0.4]), "to 30/30/40"),
    Column("cat_1", "categorical", "10 cities, Zipf",
           _cat([f"city_{i}" for i in range(10)], _zipf(10), _zipf(10)[::-1]), "Zipf reversed"),
    Column("cat_2", "categorical", "5 plans, uniform", _cat([f"plan_{i}" for i in range(5)],
                                                            [1.0] * 5)),
    Column("cat_3", "categorical", "50 products, Zipf(0.5)",
           _cat([f"product_{i:02d}" for i in range(50)], _zipf(50, 0.5))),
    Column("cat_4", "categorical", "yes/no 80/20, 1% missing",
           _cat(["yes", "no"], [0.8, 0.2], missing=0.01)),
]  # fmt: skip
NUMERIC = [c.name for c in COLUMNS if c.kind == "numeric"]
CATEGORICAL = [c.name for c in COLUMNS if c.kind == "categorical"]
DRIFTED = {c.name for c in COLUMNS if c.drift}


def write_frames(rows: int, workdir: Path) -> tuple[Path, Path]:
    """reference.parquet and current.parquet of ``rows`` rows each, from the seeded draws:
    one generator per (size, frame, column), so a column's data never depends on another's."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = []
    for side, frame in enumerate(("reference", "current")):
        arrays = {}
        for index, column in enumerate(COLUMNS):
            rng = np.random.default_rng([SEED, rows, side, index])
            values = column.draw(rng, rows, side == 1 and bool(column.drift))
            kind = pa.string() if column.kind == "categorical" else None
            arrays[column.name] = pa.array(values, type=kind, from_pandas=True)
        path = workdir / f"{frame}-{rows}.parquet"
        pq.write_table(pa.table(arrays), path)
        paths.append(path)
    return paths[0], paths[1]


# ---------------------------------------------------------------- modeldeck's worker


def modeldeck_worker(reference_path: str, current_path: str, mode: str) -> dict[str, Any]:
    """modeldeck's side, in a fresh process: ``frame`` times `dataset_drift` over both frames
    in memory; ``columns`` reads the parquet files one column at a time and times the reading
    and `column_drift` of each (the frames are never whole in memory)."""
    import warnings

    warnings.filterwarnings("ignore")
    import pandas as pd
    import pyarrow.parquet as pq
    import scipy.spatial.distance
    import scipy.stats  # imported by Evidently before its clock starts too

    from _drift_evidently import memory_before, peak_mib
    from modeldeck.monitoring.drift import DatasetDrift, column_drift, dataset_drift

    assert scipy.stats and scipy.spatial.distance
    names = [c.name for c in COLUMNS]
    read_s = 0.0
    if mode == "frame":
        t0 = now()
        reference = pd.read_parquet(reference_path)
        current = pd.read_parquet(current_path)
        read_s = now() - t0
        memory = memory_before()
        t0 = now()
        result = dataset_drift(reference, current, columns=names)
        seconds = now() - t0
    else:
        memory = memory_before()
        t0 = now()
        ref_file, cur_file = pq.ParquetFile(reference_path), pq.ParquetFile(current_path)
        columns = []
        for name in names:
            ref = ref_file.read(columns=[name]).column(0).to_pandas()
            cur = cur_file.read(columns=[name]).column(0).to_pandas()
            columns.append(column_drift(ref, cur, column=name))
            del ref, cur
        share = sum(c.drifted for c in columns) / len(columns)
        result = DatasetDrift(columns=columns, share=share, threshold=0.5, drifted=share >= 0.5)
        seconds = now() - t0
    peak = peak_mib()
    return {
        "pandas": pd.__version__,
        "read_s": read_s,
        "seconds": seconds,
        **memory,
        "peak_mib": peak,
        "share": result.share,
        "columns": {
            c.column: {
                "kind": c.kind,
                "method": c.method,
                "threshold": c.threshold,
                "score": c.score,
                "drifted": c.drifted,
            }
            for c in result.columns
        },
    }


# ---------------------------------------------------------------- the driver


def run_worker(command: list[str], env: dict[str, str], what: str) -> dict[str, Any]:
    from _venv import sh

    done = sh(command, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(rows: int, workdir: Path, evidently_python: str, stream: bool) -> dict[str, Any]:
    from _venv import BENCH, console

    t0 = now()
    reference, current = write_frames(rows, workdir)
    console.print(f"[dim]{rows:,} rows: frames written in {now() - t0:.1f} s")
    spec = workdir / "spec.json"
    spec.write_text(json.dumps({"numerical": NUMERIC, "categorical": CATEGORICAL}))
    env = dict(os.environ, PYTHONWARNINGS="ignore", DO_NOT_TRACK="1")
    out: dict[str, Any] = {"rows": rows, "errors": []}
    worker = [sys.executable, BENCH / "drift.py", "--worker"]
    runs = [("modeldeck", [*worker, "frame", reference, current])]
    if stream:
        runs.append(("modeldeck_columns", [*worker, "columns", reference, current]))
    evidently = [evidently_python, BENCH / "_drift_evidently.py", reference, current, spec]
    runs.append(("evidently", evidently))
    for key, command in runs:
        console.print(f"[dim]{rows:,} rows: {key}…")
        try:
            out[key] = run_worker([str(c) for c in command], env, f"{key} at {rows:,} rows")
        except Exception as exc:  # report it with the others, go on with the rest
            out["errors"].append(str(exc))
    for path in (reference, current):
        path.unlink()
    return out


def compare(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per column: both sides' method, score and verdict, and why they differ."""
    ours = result.get("modeldeck", {}).get("columns", {})
    theirs = result.get("evidently", {}).get("columns", {})
    streamed = result.get("modeldeck_columns", {}).get("columns", {})
    rows = []
    for column in COLUMNS:
        a, b = ours.get(column.name), theirs.get(column.name)
        row: dict[str, Any] = {"column": column.name, "kind": column.kind,
                               "injected": bool(column.drift), "modeldeck": a,
                               "evidently": b}  # fmt: skip
        if a and b:
            row["same_method"] = a["method"] == b["method"]
            row["same_verdict"] = a["drifted"] == b.get("drifted")
            row["score_diff"] = abs(a["score"] - b["score"])
            row["why"] = explain(a, b)
        if a and column.name in streamed:
            row["streamed_same"] = (
                streamed[column.name]["drifted"] == a["drifted"]
                and streamed[column.name]["method"] == a["method"]
                and math.isclose(streamed[column.name]["score"], a["score"], rel_tol=1e-9)
            )
        rows.append(row)
    return rows


def explain(a: dict[str, Any], b: dict[str, Any]) -> str:
    if a["method"] != b["method"]:
        return (
            f"different methods: modeldeck {a['method']}, Evidently {b['method']} (the method "
            "table or the distinct-value count differs)"
        )
    if a["drifted"] == b.get("drifted"):
        return ""
    if math.isclose(a["score"], b["score"], rel_tol=1e-9, abs_tol=1e-12):
        return (
            f"same score {a['score']:.6g} on the threshold {a['threshold']:g}: the comparison "
            "differs (Evidently's chi-squared and z-test drift at p < threshold, its KS and "
            "modeldeck's p-value methods at p <= threshold)"
        )
    return (
        f"scores differ: {a['score']:.6g} vs {b['score']:.6g} around the threshold "
        f"{a['threshold']:g}"
    )


def targets(results: list[dict[str, Any]]) -> list[tuple[str, str, str, bool | None]]:
    out: list[tuple[str, str, str, bool | None]] = []
    at = next((r for r in results if r["rows"] == TARGET_ROWS), None)
    ours = at and at.get("modeldeck", {}).get("seconds")
    theirs = at and at.get("evidently", {}).get("seconds")
    out.append(
        (
            f"time at {TARGET_ROWS:,} rows: Evidently ÷ modeldeck",
            f"{theirs:.2f} ÷ {ours:.2f} s = {theirs / ours:.1f}×" if ours and theirs else
            f"n/a ({TARGET_ROWS:,} rows not run)" if at is None else "n/a",
            f"≥ {SPEED_TARGET:g}×",
            theirs / ours >= SPEED_TARGET if ours and theirs else None,
        )
    )  # fmt: skip
    compared = [row for r in results for row in r["columns"] if "same_verdict" in row]
    agree = sum(row["same_verdict"] and row["same_method"] for row in compared)
    out.append(
        (
            "same method and verdict on every column",
            f"{agree} of {len(compared)} column runs agree" if compared else "n/a",
            "all",
            agree == len(compared) if compared else None,
        )
    )
    peaks = [
        (r["rows"], r["modeldeck"]["peak_mib"], r["evidently"]["peak_mib"])
        for r in results
        if "modeldeck" in r and "evidently" in r
    ]
    out.append(
        (
            "peak RSS during the drift, modeldeck vs Evidently",
            ", ".join(f"{ours:,.0f} vs {theirs:,.0f} MiB at {n:,}" for n, ours, theirs in peaks)
            or "n/a",
            "below Evidently's",
            all(ours < theirs for _, ours, theirs in peaks) if peaks else None,
        )
    )
    return out


def mib(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def report(results: list[dict[str, Any]]) -> list[tuple[str, str, str, bool | None]]:
    from rich.table import Table

    from _venv import console

    for r in results:
        ours, theirs = r.get("modeldeck", {}), r.get("evidently", {})
        streamed = r.get("modeldeck_columns", {})
        table = Table(title=f"{r['rows']:,} rows × {len(COLUMNS)} columns, reference and current")
        for name in ("", "drift s", "× faster", "peak RSS MiB", "RSS before MiB", "read s"):
            table.add_column(name, justify="left" if not name else "right")
        for label, side in (
            ("modeldeck dataset_drift (frames in memory)", ours),
            ("modeldeck column by column from parquet", streamed),
            (f"Evidently {theirs.get('version', '')} DataDriftPreset", theirs),
        ):
            if not side:
                continue
            ratio = theirs.get("seconds", math.nan) / side["seconds"] if theirs else math.nan
            table.add_row(
                label,
                f"{side['seconds']:.2f}",
                "" if side is theirs or math.isnan(ratio) else f"{ratio:.1f}×",
                mib(side["peak_mib"]),
                mib(side["rss_loaded_mib"]),
                f"{side['read_s']:.2f}" if side.get("read_s") else "",
            )
        console.print(table)
        columns = Table(title=f"{r['rows']:,} rows: per column")
        for name in ("column", "injected", "method", "modeldeck", "Evidently", "|diff|",
                     "verdicts", "agree"):  # fmt: skip
            columns.add_column(name, justify="right" if name in ("modeldeck", "Evidently",
                                                                 "|diff|") else "left")  # fmt: skip
        for row in r["columns"]:
            a, b = row["modeldeck"], row["evidently"]
            if not a or not b:
                columns.add_row(row["column"], "", "missing", "", "", "", "", "[red]no")
                continue
            method = a["method"] if row["same_method"] else f"{a['method']} / {b['method']}"
            agree = row["same_method"] and row["same_verdict"]
            columns.add_row(
                row["column"],
                "yes" if row["injected"] else "",
                method,
                f"{a['score']:.6g}",
                f"{b['score']:.6g}",
                f"{row['score_diff']:.1e}",
                f"{_drift_word(a['drifted'])} / {_drift_word(b.get('drifted'))}",
                "[green]yes" if agree else "[red]NO",
            )
        console.print(columns)
        notes = [f"{row['column']}: {row['why']}" for row in r["columns"] if row.get("why")]
        wrong = [
            row["column"]
            for row in r["columns"]
            if row["modeldeck"] and row["modeldeck"]["drifted"] != row["injected"]
        ]
        if wrong:
            notes.append(
                f"modeldeck's verdict differs from the injected drift on {wrong} (the method's "
                "own false alarm or miss where Evidently agrees; p-value methods below 1,001 "
                "reference rows alarm often: see tests/monitoring/test_drift.py)"
            )
        kinds = [
            row["column"]
            for row in r["columns"]
            if row["modeldeck"] and row["modeldeck"]["kind"] != row["kind"]
        ]
        if kinds:
            notes.append(f"modeldeck inferred another kind than the declared one for {kinds}")
        if streamed and not all(row.get("streamed_same", False) for row in r["columns"]):
            notes.append("column-by-column results differ from dataset_drift's")
        for note in notes:
            console.print(f"[yellow]{note}", highlight=False)
        console.print(
            f"[dim]share of drifted columns: modeldeck {ours.get('share', math.nan):.2f}, "
            f"Evidently {theirs.get('share', math.nan):.2f}; pandas {ours.get('pandas')} vs "
            f"{theirs.get('pandas')}",
            highlight=False,
        )
    lines = targets(results)
    for what, measured, target, ok in lines:
        word = {None: "n/a", True: "[green]PASS", False: "[red]MISS"}[ok]
        console.print(f"{what}: {measured}  (target {target})  {word}", highlight=False)
    return lines


def _drift_word(drifted: bool | None) -> str:
    return {True: "drift", False: "—", None: "?"}[drifted]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", help="rows of each frame, e.g. 100000,1000000 (the default)")
    parser.add_argument("--quick", action="store_true", help="5,000 and 50,000 rows")
    parser.add_argument("--json", metavar="PATH", help="also save the figures as JSON")
    parser.add_argument("--evidently-python", metavar="PATH", help="python of Evidently's venv")
    parser.add_argument(
        "--no-columns", action="store_true", help="skip modeldeck's column-by-column run"
    )
    parser.add_argument("--tmp", metavar="DIR", help="parent of the temp dir (default: $TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--worker", nargs=3, metavar=("MODE", "REF", "CUR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, reference, current = args.worker
        print(json.dumps(modeldeck_worker(reference, current, mode)))
        return 0

    from _venv import console, find_evidently_python

    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    else:
        sizes = list(QUICK_SIZES if args.quick else SIZES)
    evidently_python = find_evidently_python(args.evidently_python)
    workdir = Path(tempfile.mkdtemp(prefix="modeldeck-bench-drift-", dir=args.tmp))
    console.print(f"[dim]work dir {workdir}; Evidently at {evidently_python}")
    load = os.getloadavg()[0]
    if load > 1.0:
        console.print(f"[yellow]load average {load:.1f} before measuring: other work runs")
    results = []
    try:
        for rows in sizes:
            result = measure(rows, workdir, evidently_python, not args.no_columns)
            result["columns"] = compare(result)
            results.append(result)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    lines = report(results)
    errors = [e for r in results for e in r["errors"]]
    if args.json:
        out = {
            "seed": SEED,
            "columns": [
                {"name": c.name, "kind": c.kind, "what": c.what, "drift": c.drift} for c in COLUMNS
            ],
            "sizes": results,
            "targets": [
                {"what": w, "measured": m, "target": t, "pass": ok} for w, m, t, ok in lines
            ],
            "errors": errors,
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2))
        console.print(f"[dim]figures saved to {args.json}")
    for line in errors:
        console.print(line, style="red", markup=False, highlight=False)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
