"""`modeldeck monitor`: configure a monitor, run it over the prediction log, ingest labels,
check a batch and read status and reports, end to end on a temp store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modeldeck.client import fluent
from modeldeck.client.local import LocalClient
from modeldeck.core.deployment import Prediction

DAY = 86_400_000
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MODEL = "churn"
FEATURES = ["x1", "x2"]
SECRET = "s3cret-s3cret-s3cret"


def make(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0.0, 1.0, n) + 3.0 * shift
    x2 = rng.normal(5.0, 2.0, n) - 4.0 * shift
    logit = 1.5 * x1 - 0.4 * (x2 - 5.0)
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "label": label})


@pytest.fixture
def store() -> LocalClient:
    """Version 1 of "churn", a logistic regression trained on a logged dataset, champion."""
    from sklearn.linear_model import LogisticRegression

    client = fluent.client()
    train = make(300, seed=1)
    run = client.create_run("churn")
    client.log_dataset(run.id, train, name="churn-train", context="train")
    model = LogisticRegression().fit(train[FEATURES], train["label"])
    client.log_model(run.id, model, "model", input_example=train[FEATURES])
    client.end_run(run.id)
    client.register_model(f"runs:/{run.id}/model", MODEL)
    client.set_protected_aliases(MODEL, [])
    client.promote(MODEL, 1, "champion")
    return client


def serve(client: LocalClient, frame: pd.DataFrame, day: int, prefix: str) -> list[str]:
    """Log version 1's predictions of ``frame``, spread over ``day`` (days after START)."""
    proba = client.load_model(f"models:/{MODEL}/1").predict_proba(frame[FEATURES])
    times = START + day * DAY + np.linspace(0, DAY - 1, len(frame)).astype(int)
    ids = [f"{prefix}-{i}" for i in range(len(frame))]
    client.log_predictions(
        [
            Prediction(
                request_id=ids[i],
                row=0,
                model=MODEL,
                version=1,
                role="primary",
                time=int(times[i]),
                latency_ms=1.0,
                inputs={c: float(frame[c].iloc[i]) for c in FEATURES},
                outputs={"prediction": int(proba[i].argmax()), "probabilities": proba[i].tolist()},
            )
            for i in range(len(frame))
        ]
    )
    return ids


def test_create_rules_webhooks_and_status(
    cli, store: LocalClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = cli(
        "monitor",
        "create",
        MODEL,
        "--window",
        "1d",
        "--origin",
        "2026-01-01",
        "--method",
        "x1=ks",
        "--threshold",
        "x1=0.01",
    )
    assert created.exit_code == 0, created.output
    assert "windows of 1d" in created.stdout
    added = cli("monitor", "rule", "add", MODEL, "drift_share>0.3")
    assert added.exit_code == 0, added.output
    assert "drift_share > 0.3" in added.stdout and "notify" in added.stdout
    assert cli("monitor", "rule", "add", MODEL, "rows >= 1").exit_code == 0
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    inside = cli("monitor", "webhook", "add", MODEL, "http://127.0.0.1:9/hook")
    assert inside.exit_code == 1 and "internal address" in inside.stderr
    assert "webhook_hosts" in inside.stderr  # what the admin can do about it
    hook = cli(
        "monitor",
        "webhook",
        "add",
        MODEL,
        "https://hooks.example.test/hook",
        "--secret-env",
        "HOOK_SECRET",
    )
    assert hook.exit_code == 0, hook.output
    assert SECRET not in hook.stdout and "yes" in hook.stdout

    shown = cli("monitor", "status", MODEL)
    assert shown.exit_code == 0, shown.output
    for text in (
        "1d",
        "2026-01-01 00:00 UTC",
        "x1",
        "ks threshold 0.01",
        "drift_share > 0.3 → notify",
        "rows >= 1 → notify",
        "https://hooks.example.test/hook (signed: yes)",
        "no window has closed yet",
    ):
        assert text in shown.stdout, (text, shown.stdout)
    assert SECRET not in shown.stdout

    raw = cli("monitor", "status", MODEL, "--json")
    assert raw.exit_code == 0, raw.output
    assert SECRET not in raw.stdout
    status = json.loads(raw.stdout)
    assert status["monitor"]["window"] == "1d" and status["monitor"]["origin"] == START
    assert status["monitor"]["config"]["webhooks"] == [
        {"url": "https://hooks.example.test/hook", "signed": True}
    ]
    assert [r["rule"] for r in status["monitor"]["config"]["rules"]] == [
        "drift_share > 0.3",
        "rows >= 1",
    ]
    assert status["windows"] == [] and status["alerts"] == []

    assert cli("monitor", "rule", "remove", MODEL, "rows>=1").exit_code == 0
    listed = json.loads(cli("monitor", "rule", "list", MODEL, "--json").stdout)
    assert listed == [{"rule": "drift_share > 0.3", "action": "notify"}]
    assert "label_coverage" in cli("monitor", "rule", "metrics").stdout
    removed = cli("monitor", "webhook", "remove", MODEL, "https://hooks.example.test/hook")
    assert removed.exit_code == 0 and "no webhooks" in removed.stdout

    unset = cli("monitor", "webhook", "add", MODEL, "http://x.test/h", "--secret-env", "NOPE_VAR")
    assert unset.exit_code == 1 and "NOPE_VAR is not set" in unset.stderr


def test_run_closes_windows_and_prints_alerts(cli, store: LocalClient, tmp_path: Path) -> None:
    assert cli("monitor", "create", MODEL, "--origin", str(START)).exit_code == 0
    assert cli("monitor", "rule", "add", MODEL, "drift_share > 0.3").exit_code == 0
    serve(store, make(200, seed=2), day=0, prefix="calm")
    serve(store, make(200, seed=3, shift=1.0), day=1, prefix="shift")

    early = cli("monitor", "run", MODEL, "--now", "2026-01-01T12:00:00Z")
    assert early.exit_code == 0, early.output
    assert "no window closed" in early.stdout
    ran = cli("monitor", "run", MODEL, "--now", "2026-01-03")
    assert ran.exit_code == 0, ran.output
    lines = ran.stdout.splitlines()
    (calm,) = [x for x in lines if "2026-01-01 00:00 – 2026-01-02 00:00" in x and "window" in x]
    assert "200 rows" in calm and "dataset drift no" in calm
    (shifted,) = [x for x in lines if x.startswith("window") and "2026-01-02 00:00 –" in x]
    assert "dataset drift yes" in shifted and "x1" in shifted and "x2" in shifted
    (alert,) = [x for x in lines if x.startswith("ALERT")]
    assert "drift_share > 0.3" in alert and "2026-01-02 00:00 – 2026-01-03 00:00" in alert
    assert "2 window(s) closed" in ran.stdout and "1 alert(s)" in ran.stdout
    again = cli("monitor", "run", MODEL, "--now", "2026-01-03", "--json")
    assert json.loads(again.stdout) == {
        "closed": [],
        "refreshed": [],
        "alerts": [],
        "retrained": [],
        "held": [],
    }

    status = cli("monitor", "status", MODEL)
    assert status.exit_code == 0, status.output
    (row,) = [x for x in status.stdout.splitlines() if "2026-01-02 00:00 – 2026-01-03" in x][:1]
    assert "200" in row and "100%" in row and "x1, x2" in row
    assert "recent alerts" in status.stdout and "drift_share > 0.3" in status.stdout
    windows = json.loads(cli("monitor", "status", MODEL, "--json").stdout)["windows"]
    assert [(w["start"], w["rows"]) for w in windows] == [(START, 200), (START + DAY, 200)]
    assert windows[1]["drifted_columns"] == ["x1", "x2"]

    out = tmp_path / "reports" / "churn.html"
    written = cli("monitor", "report", MODEL, "--out", str(out), "--window", str(windows[1]["id"]))
    assert written.exit_code == 0, written.output
    assert str(out) in written.stdout.replace("\n", "")
    assert "drift_share &gt; 0.3" in out.read_text()
    missing = cli("monitor", "report", MODEL, "--out", str(out), "--window", "999")
    assert missing.exit_code == 1 and "no window 999" in missing.stderr


def test_labels_from_a_csv_join_their_predictions(cli, store: LocalClient, tmp_path: Path) -> None:
    assert cli("monitor", "create", MODEL, "--origin", "2026-01-01").exit_code == 0
    frame = make(200, seed=2)
    ids = serve(store, frame, day=0, prefix="p")
    path = tmp_path / "labels.csv"
    pd.DataFrame(
        {"request_id": [*ids[:150], "nobody", "p-7"], "label": [*frame["label"][:150], 1, None]}
    ).to_csv(path, index=False)
    ingested = cli("monitor", "labels", str(path))
    assert ingested.exit_code == 0, ingested.output
    assert "stored 151 labels; 1 unmatched" in ingested.stdout
    assert "skipped 1 rows" in ingested.stdout
    ran = cli("monitor", "run", MODEL, "--now", "2026-01-02")
    assert ran.exit_code == 0, ran.output
    assert "auc " in ran.stdout and "labels 75%" in ran.stdout

    wrong = tmp_path / "wrong.csv"
    pd.DataFrame({"id": ids[:2], "y": [0, 1]}).to_csv(wrong, index=False)
    refused = cli("monitor", "labels", str(wrong))
    assert refused.exit_code == 1
    assert "'request_id', 'label'" in refused.stderr and "its columns: id, y" in refused.stderr
    assert "--id-column" in refused.stderr
    renamed = cli("monitor", "labels", str(wrong), "--id-column", "id", "--label-column", "y")
    assert renamed.exit_code == 0 and "stored 2 labels; 0 unmatched" in renamed.stdout


def test_check_a_parquet_batch(cli, store: LocalClient, tmp_path: Path) -> None:
    assert cli("monitor", "create", MODEL).exit_code == 0
    batch = make(300, seed=9, shift=1.0)
    batch.loc[:29, "x1"] = 50.0  # out of the reference range
    path = tmp_path / "batch.parquet"
    batch.to_parquet(path)
    checked = cli("monitor", "check", MODEL, str(path), "--label", "label")
    assert checked.exit_code == 0, checked.output
    assert "300 rows, version 1" in checked.stdout and "dataset drift yes" in checked.stdout
    (x1,) = [x for x in checked.stdout.splitlines() if "│ x1 " in x and "numeric" in x]
    assert "ks" in x1 and "0.05" in x1 and x1.rstrip(" │").endswith("yes")
    assert "(prediction)" in checked.stdout
    (range_issue,) = [
        x for x in checked.stdout.splitlines() if "│ x1 " in x and "out_of_range" in x
    ]
    assert "outside the reference range" in range_issue
    raw = json.loads(cli("monitor", "check", MODEL, str(path), "--json").stdout)
    (window,) = raw["closed"]
    assert window["source"] == "batch" and {c["name"] for c in window["columns"]} == {"x1", "x2"}
    with_dask = json.loads(cli("monitor", "check", MODEL, str(path), "--dask", "--json").stdout)
    (same,) = with_dask["closed"]
    assert same["metrics"] == pytest.approx(window["metrics"])
    lone = cli("monitor", "check", MODEL, str(path), "--scheduler", "tcp://127.0.0.1:1")
    assert lone.exit_code == 1 and "--scheduler goes with --dask" in lone.stderr


def test_errors_name_the_fix(cli, store: LocalClient) -> None:
    for command in (("status", MODEL), ("run", MODEL), ("rule", "list", MODEL)):
        shown = cli("monitor", *command)
        assert shown.exit_code == 1, shown.output
        assert f"modeldeck monitor create {MODEL}" in shown.stderr
        assert "Traceback" not in shown.output
    bad = cli("monitor", "create", MODEL, "--window", "fortnightly")
    assert bad.exit_code == 1 and "'7d'" in bad.stderr and "'1000 rows'" in bad.stderr
    pair = cli("monitor", "create", MODEL, "--method", "x1")
    assert pair.exit_code == 1 and "COL=METHOD" in pair.stderr
    assert cli("monitor", "create", MODEL, "--window", "500 rows").exit_code == 0
    when = cli("monitor", "run", MODEL, "--now", "yesterday")
    assert when.exit_code == 1 and "ISO 8601" in when.stderr
    rule = cli("monitor", "rule", "add", MODEL, "happiness < 3")
    assert rule.exit_code == 1 and "unknown metric" in rule.stderr
    retrain = cli("monitor", "rule", "add", MODEL, "drift_share > 0.3", "--retrain")
    assert retrain.exit_code == 1 and "monitor retraining churn" in retrain.stderr
    now = cli("monitor", "retrain", MODEL)
    assert now.exit_code == 1 and "monitor retraining churn --entry-point" in now.stderr
    both = cli("monitor", "retraining", MODEL, "--entry-point", "a:b", "--command", "true")
    assert both.exit_code == 1 and "either" in both.stderr
    job = cli("monitor", "retraining", MODEL, "--entry-point", "jobs:retrain", "--label", "y")
    assert job.exit_code == 0 and "python jobs:retrain (label y)" in job.stdout
    status = cli("monitor", "status", MODEL).stdout
    assert "python jobs:retrain (label y)" in status
    assert "sha256:" in status and "pinned by" in status  # the local user is the admin here
    shadow = cli("monitor", "shadow", MODEL, "--since", "2026-01-01")
    assert shadow.exit_code == 0 and "--shadow" in shadow.stdout


def test_a_window_with_too_few_labels_is_held_not_judged(cli, store: LocalClient) -> None:
    created = cli("monitor", "create", MODEL, "--origin", str(START), "--min-labeled", "20")
    assert created.exit_code == 0, created.output
    assert cli("monitor", "rule", "add", MODEL, "accuracy < 0.99").exit_code == 0
    frame = make(100, seed=2)
    ids = serve(store, frame, day=0, prefix="few")
    store.log_labels(ids[:5], frame["label"][:5].tolist())
    ran = cli("monitor", "run", MODEL, "--now", "2026-01-02")
    assert ran.exit_code == 0, ran.output
    assert "held 'accuracy < 0.99'" in ran.stdout and "too few labels (5 of 20" in ran.stdout
    assert "ALERT" not in ran.stdout
    shown = cli("monitor", "status", MODEL)
    assert "too few labels (5 of 20)" in shown.stdout and "need 20 labelled rows" in shown.stdout
