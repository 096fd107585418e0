"""The monitoring loop on the embedded store: a version's reference is captured when it is
registered; windows close over the prediction log; labels that arrive late join their
predictions and move performance; rules fire once per window, are POSTed to a real HTTP
receiver with a verifiable signature, and a `retrain` rule trains, registers and gates a
successor."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import monitoring_support
from modeldeck.client.local import LocalClient
from modeldeck.core.errors import (
    AlreadyExists,
    InvalidInput,
    ModeldeckError,
    NotFound,
    PermissionDenied,
)
from modeldeck.core.settings import Settings
from modeldeck.monitoring.webhooks import verify
from monitoring_support import DAY, FEATURES, MODEL, POLICY, START, Receiver, make, register, serve


@dataclass
class World:
    client: LocalClient
    home: Path
    train: pd.DataFrame

    def serve(self, frame: pd.DataFrame, day: int, prefix: str, version: int = 1) -> list[str]:
        return serve(self.client, frame, day, prefix, version)

    def allow_loopback(self) -> None:
        """Receivers here listen on 127.0.0.1: an internal address, allowed by the admin
        (the local user of an open store)."""
        self.client.set_server_config("webhook_hosts", ["127.0.0.1"])


@pytest.fixture
def world(tmp_path: Path, backend_url: str) -> Iterator[World]:
    """Every test runs on the embedded store and, where a server is reachable, PostgreSQL."""
    home = tmp_path / "md"
    settings = Settings(home, backend_url, str(home / "objects"), "ann")
    client = LocalClient(settings)
    train = register(client)
    yield World(client, home, train)
    client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def test_registration_captures_the_reference(world: World) -> None:
    reference = world.client.references.get(MODEL, 1)
    assert reference is not None
    assert reference.rows == len(world.train)
    assert set(reference.profile["columns"]) == set(FEATURES)  # the label is not an input
    loaded = world.client.references.load(MODEL, 1)
    assert loaded.task == "classification" and loaded.scores is not None
    assert len(loaded.scores) == len(world.train)


def test_a_version_without_training_data_says_how_to_give_it_one(world: World) -> None:
    run = world.client.create_run("churn")
    model = monitoring_support.build().fit(world.train[FEATURES], world.train["label"])
    world.client.log_model(run.id, model, "model", input_example=world.train[FEATURES])
    world.client.register_model(f"runs:/{run.id}/model", MODEL)
    assert world.client.references.get(MODEL, 2) is None
    with pytest.raises(InvalidInput, match="log_dataset"):
        world.client.references.load(MODEL, 2)


def test_time_windows_close_only_when_they_end(world: World) -> None:
    world.client.create_monitor(MODEL, window="1d", origin=START)
    world.serve(make(300, seed=2), day=0, prefix="d0")
    world.serve(make(300, seed=3), day=1, prefix="d1")
    assert world.client.run_monitor(MODEL, now=START + DAY - 1).closed == []
    first = world.client.run_monitor(MODEL, now=START + DAY + 5)
    assert [(w.start, w.end, w.rows) for w in first.closed] == [(START, START + DAY, 300)]
    again = world.client.run_monitor(MODEL, now=START + DAY + 6)
    assert again.closed == []  # a window closes once
    later = world.client.run_monitor(MODEL, now=START + 3 * DAY)
    assert [w.rows for w in later.closed] == [300, 0]  # an empty day is still a window
    stored = world.client.monitor_windows(MODEL)
    assert [w.start for w in stored] == [START, START + DAY, START + 2 * DAY]
    assert stored[0].version == 1


def test_count_windows_close_every_n_rows(world: World) -> None:
    world.client.create_monitor(MODEL, window="250 rows")
    world.serve(make(600, seed=2), day=0, prefix="a")
    closed = world.client.run_monitor(MODEL).closed
    assert [w.rows for w in closed] == [250, 250]
    world.serve(make(40, seed=3), day=1, prefix="b")
    assert world.client.run_monitor(MODEL).closed == []  # 140 rows wait for 110 more
    world.serve(make(110, seed=4), day=2, prefix="c")
    assert [w.rows for w in world.client.run_monitor(MODEL).closed] == [250]
    windows = world.client.monitor_windows(MODEL)
    assert all(a.end <= b.start for a, b in itertools.pairwise(windows))


def test_drift_is_found_in_the_shifted_window_only(world: World) -> None:
    world.client.create_monitor(MODEL, window="1d", origin=START)
    world.serve(make(800, seed=2), day=0, prefix="calm")
    world.serve(make(800, seed=3, shift=1.0), day=1, prefix="shift")
    calm, shifted = world.client.run_monitor(MODEL, now=START + 2 * DAY).closed
    assert calm.metrics["dataset_drift"] == 0.0
    assert shifted.metrics["drifted.x1"] == 1.0 and shifted.metrics["drifted.x2"] == 1.0
    assert shifted.metrics["drift_share"] >= 2 / 3
    assert shifted.metrics["prediction_drift"] == 1.0
    methods = {c["name"]: c["method"] for c in shifted.detail["columns"]}
    assert methods == {"x1": "wasserstein", "x2": "wasserstein", "segment": "jensenshannon"}


def test_late_labels_join_and_move_performance(world: World) -> None:
    world.client.create_monitor(MODEL, window="1d", origin=START)
    frame = make(500, seed=2)
    ids = world.serve(frame, day=0, prefix="p")
    (window,) = world.client.run_monitor(MODEL, now=START + DAY).closed
    assert window.metrics["label_coverage"] == 0.0 and window.metrics.get("auc") is None
    logged = world.client.log_labels([*ids[:400], "nobody"], [*frame["label"][:400], 1])
    assert (logged.stored, logged.unmatched) == (401, 1)
    (refreshed,) = world.client.run_monitor(MODEL, now=START + DAY).refreshed
    assert refreshed.id == window.id and refreshed.labeled == 400
    assert refreshed.metrics["label_coverage"] == pytest.approx(0.8)
    from sklearn.metrics import roc_auc_score

    proba = world.client.load_model(f"models:/{MODEL}/1").predict_proba(frame[FEATURES])[:400, 1]
    assert refreshed.metrics["auc"] == pytest.approx(roc_auc_score(frame["label"][:400], proba))
    assert world.client.run_monitor(MODEL, now=START + DAY).refreshed == []  # nothing new
    # a corrected label replaces the first
    world.client.log_labels(ids[:1], [1 - int(frame["label"][0])])
    assert world.client.run_monitor(MODEL, now=START + DAY).refreshed == []  # same count
    with pytest.raises(InvalidInput, match="one label per request id"):
        world.client.log_labels(ids[:2], [1])
    with pytest.raises(InvalidInput, match="missing"):
        world.client.log_labels(ids[:1], [None])


def test_rules_fire_once_and_reach_a_real_webhook(world: World, receiver: Receiver) -> None:
    world.client.create_monitor(MODEL, window="1d", origin=START)
    world.client.add_alert_rule(MODEL, "drift_share > 0.3")
    world.allow_loopback()
    world.client.add_webhook(MODEL, receiver.url, secret="s3cret-s3cret-s3cret")
    with pytest.raises(AlreadyExists):
        world.client.add_alert_rule(MODEL, "drift_share>0.3")
    world.serve(make(600, seed=2), day=0, prefix="calm")
    world.serve(make(600, seed=3, shift=1.0), day=1, prefix="shift")
    run = world.client.run_monitor(MODEL, now=START + 2 * DAY)
    (alert,) = run.alerts
    assert alert.rule == "drift_share > 0.3" and alert.detail["window_start"] == START + DAY
    assert alert.detail["deliveries"][0]["delivered"] is True
    (request,) = receiver.requests
    headers = request["headers"]
    assert verify(
        "s3cret-s3cret-s3cret",
        request["body"],
        headers["X-Modeldeck-Timestamp"],
        headers["X-Modeldeck-Signature"],
    )
    payload = json.loads(request["body"])
    assert payload["alert"]["rule"] == "drift_share > 0.3" and payload["alert"]["model"] == MODEL
    assert world.client.run_monitor(MODEL, now=START + 2 * DAY).alerts == []
    status = world.client.monitor_status(MODEL)
    assert [a.id for a in status.alerts] == [alert.id]
    actions = [r.action for r in world.client.audit_log(subject=f"models:/{MODEL}", limit=50)]
    assert {"monitor.create", "monitor.rule.add", "monitor.webhook.add"} <= set(actions)


def test_a_down_receiver_is_retried_and_recorded(world: World) -> None:
    flaky = Receiver(codes=[503, 503])
    try:
        world.client.create_monitor(MODEL, window="1d", origin=START)
        world.client.add_alert_rule(MODEL, "rows >= 1")
        world.allow_loopback()
        world.client.add_webhook(MODEL, flaky.url)
        world.serve(make(50, seed=2), day=0, prefix="x")
        (alert,) = world.client.run_monitor(MODEL, now=START + DAY).alerts
    finally:
        flaky.close()
    (delivery,) = alert.detail["deliveries"]
    assert delivery["delivered"] is True and delivery["attempts"] == 3
    assert len({r["headers"]["X-Modeldeck-Delivery"] for r in flaky.requests}) == 1


def test_performance_rule_over_a_trailing_period(world: World) -> None:
    world.client.create_monitor(MODEL, window="1d", origin=START)
    world.client.add_alert_rule(MODEL, "accuracy < 0.7 over 2 days")
    good = make(400, seed=2)
    bad = make(400, seed=3, shift=1.0)
    ids = world.serve(good, day=0, prefix="g") + world.serve(bad, day=1, prefix="b")
    assert world.client.run_monitor(MODEL, now=START + 2 * DAY).alerts == []  # no labels yet
    world.client.log_labels(ids[:400], good["label"].tolist())
    world.client.log_labels(ids[400:], (1 - bad["label"]).tolist())  # the model is now wrong
    fired = world.client.run_monitor(MODEL, now=START + 2 * DAY).alerts
    assert [a.rule for a in fired] == ["accuracy < 0.7 over 2 days"]
    assert fired[0].detail["window_start"] == START + DAY


def test_a_retrain_rule_trains_registers_and_gates_a_successor(
    world: World, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    world.client.create_monitor(MODEL, window="1d", origin=START)
    with pytest.raises(InvalidInput, match="retraining job"):
        world.client.add_alert_rule(MODEL, "drift_share > 0.3", action="retrain")
    world.client.set_retraining(MODEL, entry_point="monitoring_support:retrain", policy=policy)
    world.client.add_alert_rule(MODEL, "drift_share > 0.3", action="retrain")
    shifted = make(600, seed=3, shift=1.0)
    ids = world.serve(shifted, day=0, prefix="s")
    world.client.log_labels(ids, shifted["label"].tolist())
    run = world.client.run_monitor(MODEL, now=START + DAY)
    (retrained,) = run.retrained
    assert (retrained.version, retrained.replaces) == (2, 1)
    assert retrained.passed is True and retrained.alias == "challenger"
    assert monitoring_support.CALLS[-1] == {"replaces": 1, "old": 2000, "new": 600}
    version = world.client.get_model_version(MODEL, 2)
    assert version.replaces_version == 1
    assert world.client.get_registered_model(MODEL).aliases == {"champion": 1, "challenger": 2}
    lineage = world.client.lineage(MODEL, 2)
    assert [v.version for v in lineage.replaces] == [1]
    assert lineage.run is not None and lineage.run.status.value == "FINISHED"
    assert lineage.run.tags["retraining_of"] == f"models:/{MODEL}/1"
    # the successor trained on old + new rows, and that is its reference now
    assert world.client.references.get(MODEL, 2).rows == 2600
    (alert,) = run.alerts
    assert alert.detail["retraining"]["version"] == 2
    actions = [r.action for r in world.client.audit_log(subject=f"models:/{MODEL}", limit=100)]
    assert "retrain.start" in actions and "retrain.finish" in actions
    assert world.client.evaluations(MODEL, 2)[-1].passed is True


def test_a_failing_retraining_job_is_recorded_not_hidden(world: World) -> None:
    world.client.create_monitor(MODEL, window="1d", origin=START)
    world.client.set_retraining(MODEL, entry_point="monitoring_support:broken")
    world.client.add_alert_rule(MODEL, "rows >= 1", action="retrain")
    world.serve(make(50, seed=2), day=0, prefix="x")
    (alert,) = world.client.run_monitor(MODEL, now=START + DAY).alerts
    assert "feature store is down" in alert.detail["retraining"]["error"]
    assert [v.version for v in world.client.model_versions(MODEL)] == [1]
    actions = [r.action for r in world.client.audit_log(subject=f"models:/{MODEL}", limit=50)]
    assert "retrain.fail" in actions


def test_report_is_one_self_contained_file(world: World, tmp_path: Path) -> None:
    world.client.create_monitor(MODEL, window="1d", origin=START)
    world.client.add_alert_rule(MODEL, "drift_share > 0.3")
    world.serve(make(500, seed=2), day=0, prefix="calm")
    world.serve(make(500, seed=3, shift=1.0), day=1, prefix="shift")
    world.client.run_monitor(MODEL, now=START + 2 * DAY)
    path = world.client.monitor_report(MODEL, tmp_path / "out" / "report.html")
    text = path.read_text()
    assert "x1" in text and "segment" in text and "drift_share &gt; 0.3" in text
    assert "http://" not in text and "https://" not in text and "<script src" not in text


def test_a_batch_is_checked_as_a_window_of_its_own(world: World) -> None:
    world.client.create_monitor(MODEL, window="1d")
    batch = make(700, seed=9, shift=1.0)
    (window,) = world.client.check_batch(MODEL, batch, label="label").closed
    assert window.source == "batch" and window.rows == 700 and window.version == 1
    assert window.metrics["drifted.x1"] == 1.0 and window.metrics["auc"] is not None


def test_monitor_configuration_errors_name_the_fix(world: World) -> None:
    with pytest.raises(NotFound, match="monitor create"):
        world.client.run_monitor(MODEL)
    with pytest.raises(InvalidInput):
        world.client.create_monitor(MODEL, window="fortnightly")
    world.client.create_monitor(MODEL)
    with pytest.raises(AlreadyExists):
        world.client.create_monitor(MODEL)
    with pytest.raises(InvalidInput, match="unknown metric"):
        world.client.add_alert_rule(MODEL, "happiness < 3")
    with pytest.raises(InvalidInput):
        world.client.add_webhook(MODEL, "ftp://example.com/hook")
    with pytest.raises(InvalidInput, match="16 characters"):
        world.client.add_webhook(MODEL, "http://127.0.0.1:9/hook", secret="short")


def test_a_batch_reads_the_same_from_a_frame_a_parquet_file_and_dask(
    world: World, tmp_path: Path
) -> None:
    import dask.dataframe as dd

    from modeldeck.monitoring import sources

    world.client.create_monitor(MODEL, window="1d")
    batch = make(3000, seed=9, shift=1.0)
    batch.loc[::300, "x2"] = np.nan  # rows the model refuses: counted, not fatal
    path = tmp_path / "batch.parquet"
    batch.to_parquet(path, row_group_size=500)
    chunked = sources.source(path, chunk_rows=700)
    assert [len(c) for c in chunked.chunks()] == [700, 700, 700, 700, 200]
    found = {}
    for name, data in (
        ("frame", batch),
        ("parquet", chunked),
        ("dask", dd.from_pandas(batch, npartitions=4)),
    ):
        (window,) = world.client.check_batch(MODEL, data, label="label").closed
        found[name] = window
    frame = found["frame"].metrics
    for name in ("parquet", "dask"):
        other = found[name].metrics
        assert other.keys() == frame.keys()
        for key, value in frame.items():
            assert other[key] == pytest.approx(value, abs=1e-12), (name, key)
    assert frame["missing_share"] > 0 and frame["drifted.x1"] == 1.0
    assert all(w.detail["refused_rows"] == 10 for w in found.values())
    assert frame["labeled"] == 2990


def test_a_retraining_command_logs_into_the_run_it_is_given(world: World) -> None:
    """The command kind: a program run without a shell, its SDK pointed at this store and
    run, its environment without the caller's own ``MODELDECK_*`` variables."""
    script = world.home.parent / "retrain.py"
    script.write_text(
        "import json, os, sys, monitoring_support as s, modeldeck\n"
        "open(sys.argv[1], 'w').write(json.dumps(dict(os.environ)))\n"
        "train = s.make(500, seed=5)\n"
        "with modeldeck.start_run() as run:\n"
        "    assert run.id == os.environ['MODELDECK_RUN_ID']\n"
        "    modeldeck.log_dataset(train, name='from-command', context='train')\n"
        "    model = s.build().fit(train[s.FEATURES], train[s.LABEL])\n"
        "    modeldeck.log_model(model, 'model', input_example=train[s.FEATURES])\n"
    )
    import os
    import sys

    tests = str(Path(monitoring_support.__file__).parent)
    import shlex

    seen = world.home.parent / "env.json"
    path = f"PYTHONPATH={tests}:{os.environ.get('PYTHONPATH', '')}"
    command = shlex.join(["env", path, sys.executable, str(script), str(seen)])
    world.client.create_monitor(MODEL, window="1d", origin=START)
    world.client.set_retraining(MODEL, command=f"true; touch {seen}.pwned")
    with pytest.raises(ModeldeckError, match="without a shell"):  # 'true;' is no program
        world.client.retrain(MODEL)
    assert not Path(str(seen) + ".pwned").exists()
    world.client.set_retraining(MODEL, command=command)
    try:
        os.environ["MODELDECK_TOKEN"] = "mdk_000000000000_callers-own-token-never-handed-on"
        retrained = world.client.retrain(MODEL)
    finally:
        os.environ.pop("MODELDECK_TOKEN")
    env = json.loads(seen.read_text())
    assert "MODELDECK_TOKEN" not in env and "callers-own-token" not in json.dumps(env)
    assert env["MODELDECK_RUN_ID"] == retrained.run_id
    assert (retrained.version, retrained.replaces, retrained.passed) == (2, 1, None)
    lineage = world.client.lineage(MODEL, 2)
    assert lineage.run is not None and lineage.run.id == retrained.run_id
    assert {i.dataset.name for i in lineage.inputs} == {"from-command"}
    assert world.client.references.get(MODEL, 2).rows == 500


def test_a_job_no_admin_pinned_is_refused_before_it_runs(world: World) -> None:
    from modeldeck.core.governance import Role
    from modeldeck.monitoring.monitors import Monitors

    monitoring_support.CALLS.clear()
    world.client.create_monitor(MODEL, window="1d", origin=START)
    world.client.set_retraining(MODEL, entry_point="monitoring_support:retrain")
    pinned = world.client.get_monitor(MODEL).retraining
    assert pinned is not None and pinned["pinned"]["digest"] == pinned["digest"]  # admin: at once
    as_owner = Monitors(
        world.client.store.db,
        world.client.store.clock,
        world.client.references,
        lambda conn, user: Role.CONTRIBUTOR,  # the owner, not an admin
    )
    as_owner.set_retraining(MODEL, {"kind": "python", "target": "monitoring_support:broken"}, "ann")
    job = world.client.get_monitor(MODEL).retraining
    assert job is not None and job["pinned"] is None
    with pytest.raises(PermissionDenied, match="not pinned by an admin"):
        world.client.retrain(MODEL)
    assert monitoring_support.CALLS == []  # nothing ran
    with pytest.raises(PermissionDenied, match="admin"):
        as_owner.pin_retraining(MODEL, job["digest"], "ann")
    world.client.pin_retraining(MODEL, job["digest"])
    history = [step["action"] for step in world.client.get_monitor(MODEL).retraining["history"]]
    assert history == ["set", "set", "pin"]
    actions = [r.action for r in world.client.audit_log(subject=f"models:/{MODEL}", limit=50)]
    assert "denied:monitor.retraining.pin" in actions and "monitor.retraining.pin" in actions


def test_performance_rules_wait_for_enough_labels(world: World) -> None:
    world.client.create_monitor(MODEL, window="1d", origin=START)
    world.client.add_alert_rule(MODEL, "accuracy < 0.99")
    world.client.add_alert_rule(MODEL, "accuracy < 0.98", min_labeled=5)
    frame = make(200, seed=2)
    ids = world.serve(frame, day=0, prefix="p")
    world.client.log_labels(ids[:10], frame["label"][:10].tolist())
    done = world.client.run_monitor(MODEL, now=START + DAY)
    assert [a.rule for a in done.alerts] == ["accuracy < 0.98"]  # its own minimum: 5
    (held,) = done.held
    assert held["rule"] == "accuracy < 0.99" and (held["labeled"], held["needed"]) == (10, 30)
    assert "too few labels" in held["reason"]
