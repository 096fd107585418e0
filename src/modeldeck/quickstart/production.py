"""The quickstart's third act: production, drift, and the next generation.

The champion serves two months of replayed traffic (in process, logged as a deployment
would log it): a normal month, then a month in which the south region shifts. Labels
arrive a week after each prediction. A monitor with weekly windows notices the drift, then
the performance drop once the labels are in; its alerts reach a webhook (a local receiver
that checks their signatures) and the `retrain` rule runs the model's retraining job. The
new version is gated, becomes `challenger`, shadows the champion on ten more days of
traffic, is re-evaluated and approved by a reviewer and promoted. Lineage then reads
generation 1 → 2, and the HTML report is written.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeck.core.deployment import Prediction
from modeldeck.core.errors import ModeldeckError

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

MODEL = "churn"
DAY = 86_400_000
WEEK = 7 * DAY
MONTH_ROWS = 8000
NORMAL_START = "2026-02-01"
SHIFT_START = "2026-03-03"
SHADOW_START = "2026-04-02"
SHADOW_DAYS = 10
LABEL_DELAY = WEEK
RULES = (("drift_share >= 0.2", "notify"), ("auc < 0.75 over 14 days", "retrain"))
RETRAIN_POLICY = """\
# Gates of versions the retraining job produces: the release gates, with the slice floor set
# where the reference model stands on the shifted data (see the quickstart's story).
[models.churn]
label = "churned"
task = "classification"

[[models.churn.checks]]
type = "metric"
metric = "auc"
min = 0.75

[[models.churn.checks]]
type = "slice"
column = "region"
metric = "auc"
min = 0.70
min_rows = 30

[[models.churn.checks]]
type = "improvement"    # it must beat the champion on the newest data
metric = "auc"
min_delta = 0.0

[[models.churn.checks]]
type = "latency"
p95_ms = 100.0
samples = 50

[[models.churn.checks]]
type = "signature"
"""


@dataclass(frozen=True)
class ProductionResult:
    deployment_id: str
    alerts: int
    webhooks_verified: int
    challenger: int | None
    promoted: bool
    generations: list[int]  # versions, oldest first
    report: Path


def production(console: Console, client: Any, reviewer: Any, champion: int) -> ProductionResult:
    import pandas as pd

    from modeldeck.quickstart.data import make_churn

    home = client.settings.home
    policy = home / "quickstart-retrain-policy.toml"
    policy.write_text(RETRAIN_POLICY, encoding="utf-8")
    console.rule("[bold]Production[/]: two months of traffic, labels a week late")
    secret = secrets.token_hex(16)
    receiver = _Receiver(secret)
    deployment = client.start_deployment(
        model=MODEL,
        reference=f"models:/{MODEL}@champion",
        version=champion,
        host="in-process",
        port=0,
        workers=1,
    )
    try:
        client.create_monitor(
            MODEL, window="7d", deployment_id=deployment.id, origin=_ms(NORMAL_START)
        )
        # the receiver listens on loopback, which webhooks may reach only once an admin (the
        # quickstart's user, on its own store) allowlists the host
        allowed = client.server_config().get("webhook_hosts", [])
        client.set_server_config("webhook_hosts", sorted({*allowed, receiver.host}))
        client.add_webhook(MODEL, receiver.url, secret=secret)
        client.set_retraining(
            MODEL, entry_point="modeldeck.quickstart.retrain:retrain", policy=policy
        )
        for rule, action in RULES:
            client.add_alert_rule(MODEL, rule, action=action)
        console.print(
            f"monitor: weekly windows on deployment {deployment.id[:8]}; rules "
            + ", ".join(f"[bold]{r}[/] → {a}" for r, a in RULES)
        )
        traffic = pd.concat(
            [
                make_churn(MONTH_ROWS, 31, start=NORMAL_START, drift=0.0),
                make_churn(MONTH_ROWS, 32, start=SHIFT_START, drift=1.0),
            ],
            ignore_index=True,
        )
        logged = _Replay(client, deployment.id, traffic)
        retrained = []
        alerts = 0
        end = int(logged.times.max()) + 1
        week_end = _ms(NORMAL_START) + WEEK
        while week_end < end + WEEK:
            logged.until(week_end)
            passed = client.run_monitor(MODEL, now=week_end)
            alerts += len(passed.alerts)
            retrained += passed.retrained
            for alert in passed.alerts:
                _print_alert(console, alert)
            week_end += WEEK
        _print_windows(console, client)
        challenger = _challenger(console, retrained)
        promoted = False
        if challenger is not None:
            promoted = _shadow_and_promote(
                console, client, reviewer, deployment.id, champion, challenger
            )
        report = client.monitor_report(MODEL, home / "reports" / f"{MODEL}-monitoring.html")
    finally:
        client.stop_deployment(deployment.id)
        receiver.close()
        # the receiver lived only as long as the quickstart: later passes must not retry it
        with contextlib.suppress(ModeldeckError):
            client.remove_webhook(MODEL, receiver.url)
    console.print(
        f"webhook receiver got {len(receiver.received)} alerts, "
        f"{receiver.verified} with a valid signature"
    )
    generations = _print_lineage(
        console, client, challenger if promoted and challenger is not None else champion
    )
    console.print(f"monitoring report: {report}")
    return ProductionResult(
        deployment.id, alerts, receiver.verified, challenger, promoted, generations, report
    )


class _Replay:
    """Logs the champion's predictions of ``traffic`` up to a time, and the labels of what
    was predicted ``LABEL_DELAY`` earlier."""

    def __init__(self, client: Any, deployment_id: str, traffic: pd.DataFrame) -> None:
        from modeldeck.quickstart.data import FEATURES, LABEL

        self.client = client
        self.deployment_id = deployment_id
        self.traffic = traffic.sort_values("event_time", kind="stable", ignore_index=True)
        self.times = self.traffic["event_time"].astype("int64").to_numpy() // 1000
        self.ids = [f"{c}-{i}" for i, c in enumerate(self.traffic["customer_id"])]
        self.labels = self.traffic[LABEL].tolist()
        features = self.traffic[list(FEATURES)]
        plain = features.astype(object).where(features.notna(), None)
        self.inputs: list[dict[str, Any]] = [
            {str(k): v for k, v in row.items()} for row in plain.to_dict("records")
        ]
        self.features = features
        self.predicted = 0
        self.labeled = 0

    def until(self, end: int) -> None:
        import numpy as np

        upto = int(np.searchsorted(self.times, end, side="left"))
        if upto > self.predicted:
            rows = range(self.predicted, upto)
            self.client.log_predictions(self._predict(rows, "primary", None))
            self.predicted = upto
        known = int(np.searchsorted(self.times, end - LABEL_DELAY, side="left"))
        if known > self.labeled:
            self.client.log_labels(
                self.ids[self.labeled : known], self.labels[self.labeled : known]
            )
            self.labeled = known

    def _predict(self, rows: range, role: str, version: int | None) -> list[Prediction]:
        number = version or self.client.get_deployment(self.deployment_id).version
        model = self.client.load_model(f"models:/{MODEL}/{number}")
        started = time.perf_counter()
        proba = model.predict_proba(self.features.iloc[rows.start : rows.stop])
        # replayed in one batch: each row is given its share of the batch's time
        latency = (time.perf_counter() - started) * 1000 / max(len(rows), 1)
        classes = list(model.raw.classes_)
        return [
            Prediction(
                request_id=self.ids[i],
                row=0,
                model=MODEL,
                version=number,
                role=role,
                time=int(self.times[i]),
                latency_ms=latency,
                inputs=self.inputs[i],
                outputs={
                    "prediction": classes[int(p.argmax())],
                    "probabilities": [float(x) for x in p],
                },
                deployment_id=self.deployment_id,
            )
            for i, p in zip(rows, proba, strict=True)
        ]


def _shadow_and_promote(
    console: Console,
    client: Any,
    reviewer: Any,
    deployment_id: str,
    champion: int,
    challenger: int,
) -> bool:
    import pandas as pd
    from rich.table import Table

    from modeldeck.core.errors import GateFailed
    from modeldeck.quickstart.data import make_churn

    console.rule(f"[bold]Shadow[/]: version {challenger} answers the same requests, unseen")
    client.set_deployment_version(deployment_id, "shadow", challenger)
    days = make_churn(MONTH_ROWS, 33, start=SHADOW_START, drift=1.0)  # a month, cut to days
    days = days[days["event_time"] < pd.Timestamp(SHADOW_START) + pd.Timedelta(days=SHADOW_DAYS)]
    replay = _Replay(client, deployment_id, days)
    rows = range(0, len(days))
    client.log_predictions(replay._predict(rows, "primary", champion))
    client.log_predictions(replay._predict(rows, "shadow", challenger))
    client.log_labels(replay.ids, replay.labels)
    compared = client.shadow_comparison(MODEL, since=_ms(SHADOW_START))
    table = Table(title=f"{compared['rows']:,} requests answered by both", title_justify="left")
    for column in ("role", "version", "auc", "accuracy", "f1"):
        table.add_column(column, justify="right" if column != "role" else "left")
    for role in ("primary", "shadow"):
        side = compared[role]
        table.add_row(
            role, str(side["version"]), *(_fmt(side.get(k)) for k in ("auc", "accuracy", "f1"))
        )
    console.print(table)
    console.print(f"the two agree on {compared['agreement']:.1%} of the answers")
    better = (compared["shadow"].get("auc") or 0) > (compared["primary"].get("auc") or 0)
    if not better:
        console.print("[yellow]the challenger is not better on live traffic: not promoted[/]")
        return False
    try:
        client.promote(MODEL, challenger)
    except GateFailed as blocked:
        console.print(f"[yellow]promotion refused until a reviewer approves[/]: {blocked}")
    # the retraining job's evidence is its author's and cannot promote: the reviewer re-runs
    # the gates on the labelled shadow traffic before approving
    policy = client.settings.home / "quickstart-retrain-policy.toml"
    checked = reviewer.evaluate_model(MODEL, challenger, days, policy=policy)
    state = "[green]passed[/]" if checked.passed else "[bold red]FAILED[/]"
    console.print(
        f"the reviewer re-ran the gates on {len(days):,} labelled shadow requests: {state}"
    )
    if not checked.passed:
        failed = ", ".join(str(c.get("name")) for c in checked.failed_checks()) or "none ran"
        console.print(f"[yellow]not promoted[/]: failed {failed}")
        return False
    reviewer.approve(
        MODEL,
        challenger,
        f"shadow AUC {compared['shadow']['auc']:.3f} vs champion "
        f"{compared['primary']['auc']:.3f} on the same requests",
        evaluation=checked.id,
    )
    client.promote(MODEL, challenger)
    client.remove_alias(MODEL, "challenger")  # it is the champion now
    console.print(
        f"[bold green]{MODEL}@champion → version {challenger}[/] (approved by a reviewer)"
    )
    return True


def _challenger(console: Console, retrained: list[Any]) -> int | None:
    """Print each retraining; the challenger is the latest version that passed its gates."""
    if not retrained:
        console.print("[yellow]no retraining ran[/]")
        return None
    verdict = {True: "[green]passed[/]", False: "[red]failed[/]", None: "not evaluated"}
    for done in retrained:
        console.print(
            f"retraining run {done.run_id[:8]} → version {done.version} (replaces "
            f"{done.replaces}): gates {verdict[done.passed]} on {done.evaluation_rows:,} "
            "held-out rows" + (f", alias [bold]{done.alias}[/]" if done.alias else "")
        )
    passed = [done.version for done in retrained if done.alias]
    return passed[-1] if passed else None


def _print_alert(console: Console, alert: Any) -> None:
    import datetime as dt

    day = dt.datetime.fromtimestamp(alert.detail["window_start"] / 1000, tz=dt.UTC)
    delivered = sum(1 for d in alert.detail.get("deliveries", []) if d.get("delivered"))
    value = "" if alert.value is None else f" ({alert.value:.3f})"
    console.print(
        f"[bold red]alert[/] {alert.rule}{value} on the week of {day:%b %d}; "
        f"webhook {'delivered' if delivered else 'not delivered'}"
        + (", [bold]retraining[/]" if alert.action == "retrain" else "")
    )


def _print_windows(console: Console, client: Any) -> None:
    import datetime as dt

    from rich.table import Table

    table = Table(title="Weekly windows of the champion", title_justify="left")
    for column in ("week of", "rows", "drifted", "share", "prediction drift", "auc", "labeled"):
        table.add_column(column, justify="left" if column == "week of" else "right")
    for window in client.monitor_windows(MODEL):
        m = window.metrics
        share = m.get("drift_share")
        style = "red" if share is not None and share >= 0.2 else None
        table.add_row(
            f"{dt.datetime.fromtimestamp(window.start / 1000, tz=dt.UTC):%b %d}",
            f"{window.rows:,}",
            _fmt(m.get("drifted_columns"), "{:.0f}"),
            _fmt(share, "{:.0%}"),
            {1.0: "yes", 0.0: "no"}.get(m.get("prediction_drift", -1.0), "–"),
            _fmt(m.get("auc")),
            _fmt(m.get("label_coverage"), "{:.0%}"),
            style=style,
        )
    console.print(table)


def _print_lineage(console: Console, client: Any, version: int) -> list[int]:
    found = client.lineage(MODEL, version)
    chain = [*reversed(found.replaces), found.version]
    parts = []
    for generation, entry in enumerate(chain, start=1):
        trained = client.lineage(MODEL, entry.version)
        data = next((i.dataset.name for i in trained.inputs if i.context == "train"), "?")
        parts.append(f"generation {generation}: version {entry.version} (trained on {data})")
    console.print("lineage: " + " → ".join(parts))
    return [entry.version for entry in chain]


class _Receiver:
    """A local webhook endpoint, as a team's alerting would run one: it checks signatures."""

    def __init__(self, secret: str) -> None:
        from modeldeck.monitoring.webhooks import verify

        self.received: list[dict[str, Any]] = []
        self.verified = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = verify(
                    secret,
                    body,
                    self.headers.get("X-Modeldeck-Timestamp", ""),
                    self.headers.get("X-Modeldeck-Signature", ""),
                )
                outer.received.append(json.loads(body))
                outer.verified += ok
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.host}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _ms(day: str) -> int:
    import pandas as pd

    return int(pd.Timestamp(day, tz="UTC").value // 1_000_000)


def _fmt(value: Any, pattern: str = "{:.3f}") -> str:
    return "–" if value is None else pattern.format(value)
