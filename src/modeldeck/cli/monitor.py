"""``modeldeck monitor``: watch a model's predictions for drift, quality and performance, alert
on rules, and retrain.

Each command parses its arguments, calls one client method and renders the answer; what a
monitor measures and when a rule fires live in :mod:`modeldeck.monitoring`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modeldeck.cli import lookup, render
from modeldeck.core.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import RenderableType
    from rich.table import Table

    from modeldeck.client.monitoring import MonitorRun
    from modeldeck.core.monitoring import Alert, Monitor, WindowResult
    from modeldeck.monitoring.overview import Status

app = typer.Typer(
    help="Watch a model's predictions: drift, data quality, performance, alerts, retraining.",
    no_args_is_help=True,
)
rule_app = typer.Typer(
    help="Alert rules such as 'drift_share > 0.3' or 'auc < 0.75 over 7 days'.",
    no_args_is_help=True,
)
webhook_app = typer.Typer(
    help="URLs every alert is POSTed to (signed, retried).", no_args_is_help=True
)
app.add_typer(rule_app, name="rule")
app.add_typer(webhook_app, name="webhook")

AsJson = Annotated[bool, typer.Option("--json", help="Write JSON to stdout instead of tables.")]
Model = Annotated[str, typer.Argument(help="A registered model's name.", show_default=False)]
LABEL_CHUNK = 10_000
PERFORMANCE = (("auc", "auc"), ("accuracy", "acc"), ("f1", "f1"), ("rmse", "rmse"), ("mae", "mae"))


# configuration -------------------------------------------------------------------------------


@app.command()
def create(
    model: Model,
    window: Annotated[
        str,
        typer.Option(
            "--window", "-w", help="Window size: '1d', '12h', '30m', '1w' or '1000 rows'."
        ),
    ] = "1d",
    deployment: Annotated[
        str | None,
        typer.Option("--deployment", help="Only this deployment's predictions (its id)."),
    ] = None,
    origin: Annotated[
        str | None,
        typer.Option(
            "--origin",
            metavar="TIME",
            help="Where time windows are aligned: ISO 8601 (UTC unless it has an offset) or "
            "milliseconds since the epoch. Default: the first prediction's day.",
        ),
    ] = None,
    share_threshold: Annotated[
        float,
        typer.Option(
            "--share-threshold",
            min=0.0,
            max=1.0,
            help="Dataset drift when at least this share of columns drifted.",
        ),
    ] = 0.5,
    method: Annotated[
        list[str] | None,
        typer.Option(
            "--method",
            metavar="COL=METHOD",
            help="Drift method of a column (ks, chisquare, z, wasserstein, jensenshannon, "
            "psi, ...); repeatable.",
        ),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold", metavar="COL=VALUE", help="Drift threshold of a column; repeatable."
        ),
    ] = None,
    min_labeled: Annotated[
        int,
        typer.Option(
            "--min-labeled",
            min=0,
            metavar="N",
            help="Labelled rows a window needs before a performance rule may fire on it.",
        ),
    ] = 30,
) -> None:
    """Start monitoring MODEL's logged predictions in windows of --window."""
    methods = _pairs(method, "--method", "COL=METHOD")
    thresholds = {
        column: _float(value, f"--threshold {column}")
        for column, value in _pairs(threshold, "--threshold", "COL=VALUE").items()
    }
    created = lookup.client().create_monitor(
        model,
        window=window,
        deployment_id=deployment,
        origin=None if origin is None else parse_time(origin, "--origin"),
        share_threshold=share_threshold,
        methods=methods or None,
        thresholds=thresholds or None,
        min_labeled=min_labeled,
    )
    out = render.console()
    out.print(render.plain(f"monitoring {created.model}: windows of {created.window}", "green"))
    out.print(
        render.plain(
            f'next: `modeldeck monitor rule add {model} "drift_share > 0.3"`, then '
            f"`modeldeck monitor run {model}` (from cron, or with --watch)",
            "dim",
        )
    )


@rule_app.command("add")
def rule_add(
    model: Model,
    rule: Annotated[
        str,
        typer.Argument(
            help="METRIC OP NUMBER [over N days]; see `modeldeck monitor rule metrics`.",
            show_default=False,
        ),
    ],
    retrain: Annotated[
        bool,
        typer.Option(
            "--retrain",
            help="Also run the retraining job when it fires (see `modeldeck monitor retraining`).",
        ),
    ] = False,
    min_labeled: Annotated[
        int | None,
        typer.Option(
            "--min-labeled",
            min=0,
            metavar="N",
            help="Labelled rows a window needs for this rule (default: the monitor's).",
        ),
    ] = None,
) -> None:
    """Alert when RULE holds for a window: record it and POST it to the webhooks."""
    monitor = lookup.client().add_alert_rule(
        model, rule, action="retrain" if retrain else "notify", min_labeled=min_labeled
    )
    render.console().print(_rules_table(monitor))


@rule_app.command("remove")
def rule_remove(
    model: Model,
    rule: Annotated[str, typer.Argument(help="The rule as listed.", show_default=False)],
) -> None:
    """Stop alerting on RULE."""
    monitor = lookup.client().remove_alert_rule(model, rule)
    render.console().print(_rules_table(monitor))


@rule_app.command("list")
def rule_list(model: Model, as_json: AsJson = False) -> None:
    """MODEL's alert rules and what each does when it fires."""
    monitor = lookup.client().get_monitor(model)
    if as_json:
        render.print_json(monitor.rules)
    else:
        render.console().print(_rules_table(monitor))


@rule_app.command("metrics")
def rule_metrics() -> None:
    """The metrics a rule can name."""
    from rich.table import Table

    from modeldeck.core.monitoring import COLUMN_METRICS, PERFORMANCE_METRICS
    from modeldeck.core.monitoring import RULE_METRICS as METRICS

    table = Table(title="metrics ('over N days' works for those marked *)")
    table.add_column("metric")
    table.add_column("meaning")
    for name, meaning in METRICS.items():
        table.add_row(name + (" *" if name in PERFORMANCE_METRICS else ""), meaning)
    for name, meaning in COLUMN_METRICS.items():
        table.add_row(f"{name}.<column>", meaning)
    render.console().print(table)


@webhook_app.command("add")
def webhook_add(
    model: Model,
    url: Annotated[str, typer.Argument(help="An http(s) URL.", show_default=False)],
    secret_env: Annotated[
        str | None,
        typer.Option(
            "--secret-env",
            metavar="VAR",
            help="Sign every POST with the secret (16+ characters) held in environment "
            "variable VAR. The secret is read from the environment, never from the command "
            "line, so it stays out of shell history and process lists.",
        ),
    ] = None,
) -> None:
    """POST every alert of MODEL to URL (replaces an earlier webhook with the same URL)."""
    secret = None
    if secret_env is not None:
        secret = os.environ.get(secret_env)
        if not secret:
            raise InvalidInput(
                f"environment variable {secret_env} is not set; export the webhook secret "
                f"in it first (export {secret_env}=...)"
            )
    monitor = lookup.client().add_webhook(model, url, secret=secret)
    render.console().print(_webhooks_table(monitor))


@webhook_app.command("remove")
def webhook_remove(
    model: Model, url: Annotated[str, typer.Argument(help="The URL as listed.")]
) -> None:
    """Stop POSTing MODEL's alerts to URL."""
    monitor = lookup.client().remove_webhook(model, url)
    render.console().print(_webhooks_table(monitor))


@app.command()
def retraining(
    model: Model,
    entry_point: Annotated[
        str | None,
        typer.Option(
            "--entry-point",
            metavar="MODULE:FUNCTION",
            help="A Python function that takes the retraining context and returns a model.",
        ),
    ] = None,
    command: Annotated[
        str | None,
        typer.Option(
            "--command",
            help="A command (split like a shell would, run by none) that logs a model to the "
            "run MODELDECK_RUN_ID names, with a token limited to that run.",
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            metavar="FILE",
            help="A policy file (TOML) whose gates judge the new version (default: the gates "
            "the replaced version passed).",
        ),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", metavar="COL", help="The label column.")
    ] = None,
    experiment: Annotated[
        str | None,
        typer.Option(
            "--experiment", help="Where the retraining runs go (default MODEL-retraining)."
        ),
    ] = None,
) -> None:
    """Register the job that trains MODEL's successor (for `rule add --retrain` and `retrain`).

    The monitor's owner or an admin sets it; it runs only once an admin pinned exactly it
    (`modeldeck monitor pin`); an admin's own job is pinned at once."""
    monitor = lookup.client().set_retraining(
        model,
        entry_point=entry_point,
        command=command,
        policy=policy,
        label=label,
        experiment=experiment,
    )
    out = render.console()
    out.print(render.plain(f"retraining job of {model}: {_job(monitor)}", "green"))
    job = monitor.retraining or {}
    if not _pinned(job):
        out.print(
            render.plain(
                f"not pinned: it does not run until an admin runs "
                f"`modeldeck monitor pin {model} {job.get('digest')}`",
                "yellow",
            )
        )


@app.command()
def pin(
    model: Model,
    digest: Annotated[
        str,
        typer.Argument(help="The job's digest, as `monitor status` shows it.", show_default=False),
    ],
) -> None:
    """Admins: vouch for exactly the retraining job whose DIGEST you reviewed."""
    monitor = lookup.client().pin_retraining(model, digest)
    render.console().print(
        render.plain(f"pinned retraining job of {model}: {_job(monitor)}", "green")
    )


# the loop ------------------------------------------------------------------------------------


@app.command()
def run(
    model: Model,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="TIME",
            help="Act as if it were TIME (ISO 8601, UTC unless it has an offset, or ms).",
        ),
    ] = None,
    watch: Annotated[
        float | None,
        typer.Option("--watch", metavar="SECONDS", min=1.0, help="Run every SECONDS until Ctrl-C."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Close ended windows, update performance with new labels, act on the rules that fired.

    Alerts are recorded and POSTed to the webhooks; a retrain rule runs the retraining job.
    Run it from cron, or keep it running with --watch.
    """
    if now is not None and watch is not None:
        raise InvalidInput("--now and --watch do not go together: a watch runs at the real time")
    at = None if now is None else parse_time(now, "--now")
    owner = lookup.client()
    if as_json and watch is not None:
        raise InvalidInput("--json answers one pass; leave out --watch")
    if watch is None:
        done = owner.run_monitor(model, now=at)
        if as_json:
            render.print_json(_pass_json(done))
        else:
            _print_pass(done, quiet=False)
        return
    out = render.console()
    out.print(render.plain(f"watching {model} every {watch:g} s; Ctrl-C stops", "dim"))
    try:
        while True:
            done = owner.run_monitor(model)
            stamp = dt.datetime.now(dt.UTC).strftime("%H:%M:%S")
            out.print(render.plain(f"— pass at {stamp} UTC", "dim"))
            _print_pass(done, quiet=True)
            time.sleep(watch)
    except KeyboardInterrupt:
        out.print(render.plain("stopped", "dim"))


@app.command()
def check(
    model: Model,
    data_file: Annotated[
        Path, typer.Argument(metavar="DATA_FILE", help="A .parquet or .csv batch.")
    ],
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, help="The version that predicts (default: champion)."),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option("--label", metavar="COL", help="A column of ground truth in the batch."),
    ] = None,
    dask: Annotated[
        bool,
        typer.Option(
            "--dask",
            help="Read the batch as a Dask dataframe: categories are counted on the cluster.",
        ),
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="With --dask, a cluster's scheduler (tcp://host:8786); default: this machine.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Predict a batch and check it against the reference as a window of its own.

    The file is read chunk by chunk and column by column, so memory stays flat."""
    if scheduler is not None and not dask:
        raise InvalidInput("--scheduler goes with --dask")
    client = lookup.client()
    if dask:
        with _dask_frame(data_file, scheduler) as frame:
            done = client.check_batch(model, frame, version=version, label=label)
    else:
        done = client.check_batch(model, data_file, version=version, label=label)
    if as_json:
        render.print_json(_pass_json(done))
        return
    out = render.console()
    for window in done.closed:
        out.print(_window_line(window))
        out.print(_columns_table(window))
        issues = window.detail.get("quality", [])
        if issues:
            out.print(_quality_table(issues))
        else:
            out.print(render.plain("no data quality issues", "green"))
    _print_held(done)
    for alert in done.alerts:
        out.print(_alert_line(alert))


@contextlib.contextmanager
def _dask_frame(path: Path, scheduler: str | None) -> Iterator[Any]:
    try:
        import dask.dataframe as dd
    except ImportError:
        raise InvalidInput("--dask needs Dask: pip install 'modeldeck[dask]'") from None
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise InvalidInput(f"--dask reads parquet or CSV files, not {suffix or 'this file'}")
    frame = dd.read_parquet(str(path)) if suffix != ".csv" else dd.read_csv(str(path))
    if scheduler is None:
        yield frame
        return
    import dask.distributed

    distributed: Any = dask.distributed  # unannotated: mypy refuses its calls otherwise
    try:
        cluster = distributed.Client(scheduler, timeout="10s")
    except OSError as unreachable:
        raise InvalidInput(f"no Dask scheduler answers at {scheduler}: {unreachable}") from None
    with cluster:
        yield frame


@app.command()
def labels(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="A .csv, .parquet or .jsonl file.", show_default=False),
    ],
    id_column: Annotated[
        str, typer.Option("--id-column", help="The column of request ids.")
    ] = "request_id",
    label_column: Annotated[str, typer.Option("--label-column", help="The labels.")] = "label",
    row_column: Annotated[
        str | None,
        typer.Option(
            "--row-column",
            help="The row within a request (default: 'row' if the file has it, else 0).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Join ground truth from FILE to logged predictions by request id.

    Rows without a label are skipped; a label sent again replaces the earlier one.
    """
    frame = _read_table(file, id_column)
    wanted = [id_column, label_column] + ([row_column] if row_column else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise InvalidInput(
            f"{file} has no column {', '.join(repr(c) for c in missing)} (its columns: {found}); "
            "name them with --id-column, --label-column and --row-column"
        )
    if row_column is None and "row" in frame.columns:
        row_column = "row"
    present = frame[label_column].notna() & frame[id_column].notna()
    skipped = int((~present).sum())
    frame = frame[present]
    ids = [_request_id(v) for v in frame[id_column].tolist()]
    values = frame[label_column].tolist()
    rows = None if row_column is None else [_row(v) for v in frame[row_column].tolist()]
    owner = lookup.client()
    stored = unmatched = 0
    started = time.perf_counter()
    progress = task = None
    try:
        for start in range(0, len(ids), LABEL_CHUNK):
            end = start + LABEL_CHUNK
            logged = owner.log_labels(
                ids[start:end], values[start:end], rows=None if rows is None else rows[start:end]
            )
            stored += logged.stored
            unmatched += logged.unmatched
            if progress is None and time.perf_counter() - started > 1.0 and end < len(ids):
                progress = _progress()
                progress.start()
                task = progress.add_task("labels", total=len(ids))
            if progress is not None and task is not None:
                progress.update(task, completed=min(end, len(ids)))
    finally:
        if progress is not None:
            progress.stop()
    out = render.console()
    out.print(render.plain(f"stored {stored:,} labels; {unmatched:,} unmatched", "green"))
    if unmatched:
        out.print(
            render.plain(
                "unmatched labels name no logged prediction (yet); they join when it is logged",
                "dim",
            )
        )
    if skipped:
        out.print(render.plain(f"skipped {skipped:,} rows without a request id or label", "dim"))


@app.command()
def retrain(
    model: Model,
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, help="The version to replace (default: champion)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Run MODEL's retraining job now; the new version gets 'challenger' if its gates pass."""
    done = lookup.client().retrain(model, replaces=version)
    if as_json:
        render.print_json(done)
        return
    gates = {True: "passed", False: "failed", None: "not evaluated"}[done.passed]
    out = render.console()
    out.print(render.plain(f"run {done.run_id}", "bold"))
    out.print(f"new version: {model} {done.version} (replaces {done.replaces})")
    out.print(render.plain(f"gates: {gates}", {"passed": "green", "failed": "red"}.get(gates, "")))
    out.print(f"alias: {done.alias or render.MISSING}")


# reading -------------------------------------------------------------------------------------


@app.command()
def status(
    model: Model,
    windows: Annotated[
        int, typer.Option("--windows", "-n", min=1, help="How many recent windows to show.")
    ] = 12,
    as_json: AsJson = False,
) -> None:
    """MODEL's monitor: its settings, its latest windows and its recent alerts."""
    found = lookup.client().monitor_status(model, windows=windows)
    if as_json:
        render.print_json(_status_json(found))
        return
    from rich.console import Group

    render.console().print(Group(*_status_parts(found)))


@app.command()
def report(
    model: Model,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The HTML file to write.", show_default=False)
    ],
    window: Annotated[
        int | None,
        typer.Option("--window", metavar="ID", help="The window to focus (default: the latest)."),
    ] = None,
) -> None:
    """Write an HTML report (one self-contained file) of a window, the trend and the alerts."""
    path = lookup.client().monitor_report(model, out, window_id=window)
    render.console().print(render.plain(str(path)))


@app.command()
def shadow(
    model: Model,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="TIME", help="ISO 8601 (UTC unless offset) or ms."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Compare the primary and shadow answers to the same requests."""
    found = lookup.client().shadow_comparison(
        model, since=None if since is None else parse_time(since, "--since")
    )
    if as_json:
        render.print_json(found)
        return
    out = render.console()
    if not found.get("rows"):
        out.print(
            render.plain(
                f"no request of {model} was answered by both a primary and a shadow; serve with "
                f"`modeldeck serve {model}@champion --shadow {model}@challenger`"
            )
        )
        return
    out.print(
        render.plain(
            f"{found['rows']:,} requests answered by both; agreement "
            f"{_share(found.get('agreement'))}"
        )
    )
    from rich.table import Table

    roles = ("primary", "shadow")
    metrics = sorted({k for r in roles for k in found.get(r, {}) if k not in ("model", "version")})
    table = Table()
    table.add_column("")
    for role in roles:
        table.add_column(role, justify="right")
    table.add_row("model", *(render.plain(found[r].get("model")) for r in roles))
    table.add_row("version", *(render.plain(found[r].get("version")) for r in roles))
    for name in metrics:
        table.add_row(name, *(_metric(found[r].get(name)) for r in roles))
    out.print(table)


# parsing -------------------------------------------------------------------------------------


def parse_time(text: str, what: str = "time") -> int:
    """Milliseconds since the epoch from ``2026-02-01``, ``2026-02-01T12:00:00Z`` (UTC when
    there is no offset) or an integer of milliseconds."""
    value = text.strip()
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"cannot read {what} {text!r}: write ISO 8601 such as 2026-02-01 or "
            "2026-02-01T12:00:00Z (UTC unless it has an offset), or milliseconds since the epoch"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def _pairs(given: Sequence[str] | None, option: str, shape: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in given or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidInput(f"{option} takes {shape}, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{what} must be a number, got {text!r}") from None


def _read_table(path: Path, id_column: str) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise InvalidInput(f"labels file {path} does not exist; check the path")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".csv", ".tsv"):
        # request ids stay text: "007" is not 7
        sep = "\t" if suffix == ".tsv" else ","
        return pd.read_csv(path, sep=sep, dtype={id_column: str})
    if suffix in (".jsonl", ".ndjson", ".json"):
        return pd.read_json(path, lines=suffix != ".json", dtype={id_column: str})
    raise InvalidInput(f"labels file {path}: use a .csv, .parquet or .jsonl file")


def _request_id(value: Any) -> str:
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    return str(value)


def _row(value: Any) -> int:
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, str) and value.strip().isdigit():
        whole = True
    if isinstance(value, bool) or not whole:
        raise InvalidInput(f"a row must be a whole number, got {value!r}")
    return int(value)


# output --------------------------------------------------------------------------------------


def _utc(ms: int | None) -> str:
    if ms is None:
        return render.MISSING
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _span(window: WindowResult) -> str:
    if window.source == "batch":
        return f"batch at {_utc(window.start)}"
    return f"{_utc(window.start)} – {_utc(window.end)}"


def _share(value: float | None) -> str:
    return render.MISSING if value is None else f"{value:.0%}"


def _metric(value: Any) -> str:
    if value is None:
        return render.MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return render.number(float(value), 4)
    return str(value)


def _drifted(window: WindowResult) -> list[str]:
    return [
        key.partition(".")[2]
        for key, value in window.metrics.items()
        if key.startswith("drifted.") and value
    ]


def _performance(metrics: Mapping[str, float | None]) -> str:
    parts = [
        f"{short} {render.number(metrics[key], 3)}"
        for key, short in PERFORMANCE
        if metrics.get(key) is not None
    ]
    return ", ".join(parts) or render.MISSING


def _yes(value: float | None) -> str:
    return render.MISSING if value is None else ("yes" if value else "no")


def _window_line(window: WindowResult) -> Any:
    m = window.metrics
    text = (
        f"window {window.id} {_span(window)} UTC: {window.rows:,} rows"
        + (f", version {window.version}" if window.version is not None else "")
        + f", drift share {_share(m.get('drift_share'))}"
        + f", dataset drift {_yes(m.get('dataset_drift'))}"
    )
    drifted = _drifted(window)
    if drifted:
        text += f" ({', '.join(drifted)})"
    performance = _performance(m)
    if performance != render.MISSING:
        text += f", {performance}"
    if m.get("label_coverage") is not None:
        text += f", labels {_share(m.get('label_coverage'))}"
    style = "yellow" if m.get("dataset_drift") else ""
    return render.plain(text, style)


def _alert_line(alert: Alert) -> Any:
    from rich.text import Text

    text = Text("ALERT ", style="bold red")
    text.append(
        f"{alert.rule} (value {_metric(alert.value)}) on window "
        f"{_utc(alert.detail.get('window_start'))} – {_utc(alert.detail.get('window_end'))}"
        f", action {alert.action}"
    )
    outcome = _outcome(alert)
    if outcome != render.MISSING:
        text.append(f": {outcome}")
    return text


def _outcome(alert: Alert) -> str:
    parts = []
    for sent in alert.detail.get("deliveries", []):
        if sent.get("delivered"):
            parts.append(f"{sent.get('url')} delivered ({sent.get('attempts')} attempt(s))")
        else:
            why = sent.get("error") or f"status {sent.get('status')}"
            parts.append(
                f"{sent.get('url')} NOT delivered after {sent.get('attempts')} attempt(s): {why}"
            )
    job = alert.detail.get("retraining")
    if isinstance(job, Mapping):
        if job.get("error"):
            parts.append(f"retraining failed: {job['error']}")
        elif job.get("skipped"):
            parts.append(f"retraining skipped: {job['skipped']}")
        else:
            gates = {True: "passed", False: "failed", None: "not evaluated"}[job.get("passed")]
            parts.append(
                f"retrained version {job.get('version')} (run {str(job.get('run_id'))[:8]}), "
                f"gates {gates}" + (f", alias {job['alias']}" if job.get("alias") else "")
            )
    return "; ".join(parts) or render.MISSING


def _print_held(done: MonitorRun) -> None:
    """The performance rules a window had too few labels to judge: not fired, said so."""
    out = render.console()
    for held in done.held:
        out.print(
            render.plain(
                f"held {held.get('rule')!r} on window {held.get('window_id')}: "
                f"{held.get('reason')}",
                "yellow",
            )
        )


def _print_pass(done: MonitorRun, *, quiet: bool) -> None:
    out = render.console()
    empty = [w for w in done.closed if not w.rows]
    for window in done.closed:
        if window.rows:
            out.print(_window_line(window))
    if empty:
        # a monitor catching up after a pause closes many empty windows: one line says so
        out.print(
            render.plain(
                f"{len(empty)} window(s) without predictions, "
                f"{_utc(empty[0].start)} – {_utc(empty[-1].end)} UTC",
                "dim",
            )
        )
    for window in done.refreshed:
        out.print(
            render.plain(
                f"labels updated window {window.id} {_span(window)} UTC: "
                f"{window.labeled:,} labeled, {_performance(window.metrics)}"
            )
        )
    _print_held(done)
    for alert in done.alerts:
        out.print(_alert_line(alert))
    for job in done.retrained:
        gates = {True: "passed", False: "failed", None: "not evaluated"}[job.passed]
        out.print(
            render.plain(
                f"retrained: version {job.version} replaces {job.replaces} (run {job.run_id}), "
                f"gates {gates}" + (f", alias {job.alias}" if job.alias else ""),
                "green" if job.passed else "",
            )
        )
    if not (done.closed or done.refreshed or done.alerts):
        if not quiet:
            out.print(render.plain("no window closed, no new labels, no alert", "dim"))
        return
    if not quiet:
        out.print(
            render.plain(
                f"{len(done.closed)} window(s) closed, {len(done.refreshed)} refreshed by "
                f"labels, {len(done.alerts)} alert(s)",
                "dim",
            )
        )


def _rules_table(monitor: Monitor) -> RenderableType:
    if not monitor.rules:
        return render.plain(
            f"no alert rules; add one with `modeldeck monitor rule add {monitor.model} "
            '"drift_share > 0.3"`'
        )
    from rich.table import Table

    table = Table(title=f"alert rules of {monitor.model}")
    table.add_column("rule")
    table.add_column("action")
    for rule in monitor.rules:
        table.add_row(render.plain(rule.get("rule")), render.plain(rule.get("action", "notify")))
    return table


def _webhooks_table(monitor: Monitor) -> RenderableType:
    if not monitor.webhooks:
        return render.plain(f"no webhooks; alerts of {monitor.model} are only recorded")
    from rich.table import Table

    table = Table(title=f"webhooks of {monitor.model}")
    table.add_column("url")
    table.add_column("signed")
    for hook in monitor.webhooks:
        table.add_row(render.plain(hook.get("url")), "yes" if hook.get("secret") else "no")
    return table


def _job(monitor: Monitor) -> str:
    job = monitor.retraining
    if job is None:
        return render.MISSING
    text = f"{job.get('kind')} {job.get('target')}"
    extra = [f"{key} {job[key]}" for key in ("label", "experiment") if job.get(key) is not None]
    if job.get("policy"):
        extra.append("own policy")
    return text + (f" ({', '.join(extra)})" if extra else "")


def _pinned(job: Mapping[str, Any]) -> bool:
    pin = job.get("pinned")
    digest = job.get("digest")
    return digest is not None and isinstance(pin, Mapping) and pin.get("digest") == digest


def _job_pin(job: Mapping[str, Any]) -> str:
    """The job's digest and who pinned it, or that nobody did."""
    pin = job.get("pinned")
    state = (
        f"pinned by {pin.get('by')} at {_utc(int(pin.get('at') or 0))} UTC"
        if _pinned(job) and isinstance(pin, Mapping)
        else "NOT PINNED: it does not run until an admin pins it (`modeldeck monitor pin`)"
    )
    return f"{job.get('digest')}; {state}"


def _job_history(job: Mapping[str, Any]) -> str:
    steps = job.get("history") or []
    return "; ".join(
        f"{step.get('action')} by {step.get('by')} at {_utc(int(step.get('at') or 0))} UTC "
        f"({str(step.get('digest'))[7:19]})"
        for step in steps[-5:]
    )


def _settings_table(monitor: Monitor) -> Table:
    from rich.table import Table

    config = monitor.config
    table = Table(
        show_header=False, box=None, title=f"monitor of {monitor.model}", title_justify="left"
    )
    table.add_column(style="bold")
    table.add_column()
    table.add_row("window", render.plain(monitor.window))
    if monitor.origin:
        table.add_row("origin", f"{_utc(monitor.origin)} UTC")
    table.add_row("deployment", render.plain(monitor.deployment_id or "any (all predictions)"))
    table.add_row("drift", f"dataset drift at {_share(config.get('share_threshold'))} of columns")
    methods = config.get("methods") or {}
    thresholds = config.get("thresholds") or {}
    for column in sorted(set(methods) | set(thresholds)):
        text = " ".join(
            part
            for part in (
                methods.get(column),
                f"threshold {thresholds[column]}" if column in thresholds else None,
            )
            if part
        )
        table.add_row(f"  {column}", render.plain(text))
    rules = monitor.rules
    table.add_row(
        "rules",
        render.plain(
            "; ".join(f"{r.get('rule')} → {r.get('action', 'notify')}" for r in rules)
            or "none (`modeldeck monitor rule add`)"
        ),
    )
    hooks = monitor.webhooks
    table.add_row(
        "webhooks",
        render.plain(
            "; ".join(
                f"{h.get('url')} (signed: {'yes' if h.get('secret') else 'no'})" for h in hooks
            )
            or "none"
        ),
    )
    table.add_row("labels", f"performance rules need {config.get('min_labeled', 30)} labelled rows")
    table.add_row("retraining", render.plain(_job(monitor)))
    job = monitor.retraining
    if job is not None:
        table.add_row("  digest", render.plain(_job_pin(job)))
        if job.get("history"):
            table.add_row("  changes", render.plain(_job_history(job)))
    return table


def _windows_table(windows: Sequence[WindowResult], min_labeled: int = 30) -> Table:
    """A window with some labels but fewer than ``min_labeled`` says its performance is not
    judged yet, rather than showing a number no rule acts on."""
    from rich.table import Table

    table = Table(title="latest windows (UTC)", title_justify="left")
    for column in (
        "id",
        "window",
        "version",
        "rows",
        "drift share",
        "drifted columns",
        "prediction drift",
        "missing",
        "performance",
        "labels",
    ):
        right = column in ("id", "version", "rows", "drift share", "missing", "labels")
        table.add_column(column, justify="right" if right else "left")
    for w in windows:
        m = w.metrics
        table.add_row(
            str(w.id),
            _span(w),
            render.plain(w.version),
            f"{w.rows:,}",
            render.plain(_share(m.get("drift_share")), "yellow" if m.get("dataset_drift") else ""),
            render.plain(", ".join(_drifted(w)) or render.MISSING),
            _yes(m.get("prediction_drift")),
            _share(m.get("missing_share")),
            _performance(m)
            if not 0 < w.labeled < min_labeled
            else render.plain(f"too few labels ({w.labeled} of {min_labeled})", "yellow"),
            _share(m.get("label_coverage")),
        )
    return table


def _alerts_table(alerts: Sequence[Alert]) -> Table:
    from rich.table import Table

    table = Table(title="recent alerts (UTC)", title_justify="left")
    for column in ("fired", "rule", "value", "window", "action", "outcome"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for a in alerts:
        table.add_row(
            _utc(a.fired_at),
            render.plain(a.rule),
            _metric(a.value),
            f"{_utc(a.detail.get('window_start'))} – {_utc(a.detail.get('window_end'))}",
            a.action,
            render.plain(_outcome(a)),
        )
    return table


def _status_parts(found: Status) -> list[RenderableType]:
    parts: list[RenderableType] = [_settings_table(found.monitor)]
    if found.windows:
        needed = int(found.monitor.config.get("min_labeled", 30))
        parts.append(_windows_table(found.windows, needed))
    else:
        parts.append(
            render.plain(
                f"no window has closed yet; run `modeldeck monitor run {found.monitor.model}`"
            )
        )
    if found.alerts:
        parts.append(_alerts_table(found.alerts))
    else:
        parts.append(render.plain("no alerts"))
    return parts


def _columns_table(window: WindowResult) -> Table:
    from rich.table import Table

    table = Table(title="drift per column", title_justify="left")
    for column in ("column", "kind", "method", "score", "threshold", "drifted"):
        table.add_column(column, justify="right" if column in ("score", "threshold") else "left")
    columns = list(window.detail.get("columns", []))
    prediction = window.detail.get("prediction")
    if prediction:
        columns.append({**prediction, "name": "(prediction)"})
    for c in columns:
        drifted = bool(c.get("drifted"))
        table.add_row(
            render.plain(c.get("name")),
            render.plain(c.get("kind")),
            render.plain(c.get("method")),
            _metric(c.get("score")),
            _metric(c.get("threshold")),
            render.plain("yes" if drifted else "no", "bold yellow" if drifted else ""),
        )
    for name, why in (window.detail.get("errors") or {}).items():
        table.add_row(render.plain(name), "", "", "", "", render.plain(f"not compared: {why}"))
    return table


def _quality_table(issues: Sequence[Mapping[str, Any]]) -> Table:
    from rich.table import Table

    table = Table(title="data quality issues", title_justify="left")
    for column in ("column", "issue", "count", "share", "detail"):
        table.add_column(column, justify="right" if column in ("count", "share") else "left")
    for issue in issues:
        table.add_row(
            render.plain(issue.get("column") or "(all)"),
            render.plain(issue.get("kind")),
            f"{int(issue.get('count') or 0):,}",
            _share(issue.get("share")),
            render.plain(issue.get("detail") or ""),
        )
    return table


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=render.err_console(),
        transient=False,
    )


# JSON ----------------------------------------------------------------------------------------


def _monitor_json(monitor: Monitor) -> dict[str, Any]:
    """The monitor as stored, with each webhook's secret replaced by ``signed``."""
    config = dict(monitor.config)
    config["webhooks"] = [
        {"url": h.get("url"), "signed": bool(h.get("secret"))} for h in monitor.webhooks
    ]
    job = monitor.retraining
    if job is not None:
        config["retraining"] = {k: v for k, v in job.items() if k != "policy"} | {
            "policy": bool(job.get("policy"))
        }
    return {
        "id": monitor.id,
        "model": monitor.model,
        "deployment_id": monitor.deployment_id,
        "window": monitor.window,
        "origin": monitor.origin,
        "config": config,
        "created_by": monitor.created_by,
        "created_at": monitor.created_at,
        "updated_at": monitor.updated_at,
    }


def _window_json(window: WindowResult) -> dict[str, Any]:
    return {
        "id": window.id,
        "version": window.version,
        "source": window.source,
        "start": window.start,
        "end": window.end,
        "rows": window.rows,
        "labeled": window.labeled,
        "drifted_columns": _drifted(window),
        "metrics": dict(window.metrics),
        "quality": list(window.detail.get("quality", [])),
        "computed_at": window.computed_at,
    }


def _status_json(found: Status) -> dict[str, Any]:
    return {
        "monitor": _monitor_json(found.monitor),
        "windows": [_window_json(w) for w in found.windows],
        "alerts": [render.jsonable(a) for a in found.alerts],
    }


def _pass_json(done: MonitorRun) -> dict[str, Any]:
    return {
        "closed": [_window_json(w) | {"columns": w.detail.get("columns", [])} for w in done.closed],
        "refreshed": [_window_json(w) for w in done.refreshed],
        "alerts": [render.jsonable(a) for a in done.alerts],
        "retrained": [render.jsonable(r) for r in done.retrained],
        "held": list(done.held),
    }
