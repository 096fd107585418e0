"""Evidently's side of bench/drift.py, run by the python of Evidently's own venv.

    python _drift_evidently.py REFERENCE.parquet CURRENT.parquet SPEC.json

SPEC names the ``numerical`` and ``categorical`` columns. Both frames are read, then the clock
runs over ``Dataset.from_pandas`` for both and ``Report([DataDriftPreset()]).run`` (Evidently
0.7's API, the column types declared); one JSON line with the time, the memory and each
column's method, score and verdict goes to stdout.

The memory probes at the top are stdlib only, and bench/drift.py's modeldeck worker uses the
same ones, so both sides measure alike.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
import warnings
from typing import Any

now = time.perf_counter


def _status_mib(field: str) -> float | None:
    """A ``kB`` line of /proc/self/status (VmRSS, VmHWM) in MiB; None where there is none."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mib() -> float | None:
    """The process's resident memory now."""
    return _status_mib("VmRSS")


def peak_mib() -> float:
    """The process's peak resident memory since it started or since :func:`reset_peak`."""
    hwm = _status_mib("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Start the peak over from the memory in use now (Linux: ``5`` to clear_refs), so that the
    peak after a computation is the computation's, not the loading's. False if it cannot."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def memory_before() -> dict[str, Any]:
    """What to record once the frames are loaded, just before the clock starts."""
    gc.collect()
    loaded = {"rss_loaded_mib": rss_mib(), "peak_loading_mib": peak_mib()}
    return loaded | {"peak_reset": reset_peak()}


def main() -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently's telemetry
    warnings.filterwarnings("ignore")
    reference_path, current_path, spec_path = sys.argv[1:4]
    with open(spec_path) as spec_file:
        spec = json.load(spec_file)
    import evidently
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests
    from evidently.presets import DataDriftPreset

    t0 = now()
    reference = pd.read_parquet(reference_path)
    current = pd.read_parquet(current_path)
    read_s = now() - t0
    memory = memory_before()

    t0 = now()
    definition = DataDefinition(
        numerical_columns=spec["numerical"], categorical_columns=spec["categorical"]
    )
    current_data = Dataset.from_pandas(current, data_definition=definition)
    reference_data = Dataset.from_pandas(reference, data_definition=definition)
    t1 = now()
    snapshot = Report([DataDriftPreset()], include_tests=True).run(current_data, reference_data)
    seconds = now() - t0
    peak = peak_mib()

    # method display names ("Wasserstein distance (normed)") -> names ("wasserstein")
    names = {
        test.display_name: test.name
        for by_type in _registered_stat_tests.values()
        for test in by_type.values()
    }
    result = snapshot.dict()
    columns: dict[str, dict[str, Any]] = {}
    share = None
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            columns[config["column"]] = {
                "method": names.get(config["method"], config["method"]),
                "method_label": config["method"],
                "threshold": config["threshold"],
                "score": float(metric["value"]),
            }
        elif config["type"].endswith(":DriftedColumnsCount"):
            share = metric["value"]["share"]
    for test in result["tests"]:
        column = test["metric_config"]["params"].get("column")
        if test["id"] == "drift" and column in columns:
            columns[column]["drifted"] = test["status"] == "FAIL"  # FAIL: drift detected
    print(
        json.dumps(
            {
                "version": evidently.__version__,
                "pandas": pd.__version__,
                "read_s": read_s,
                "datasets_s": t1 - t0,
                "seconds": seconds,
                **memory,
                "peak_mib": peak,
                "share": share,
                "columns": columns,
            }
        )
    )


if __name__ == "__main__":
    main()
