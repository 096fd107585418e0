"""The Production and Audit pages, in process over a temp store: a registered model served
by a deployment (with a canary), predictions logged at explicit times, a monitor that closed
a calm and a shifted day and fired an alert; then the audit log and its chain."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from modeldeck.client.local import LocalClient
from modeldeck.core.deployment import Prediction
from modeldeck.core.settings import Settings
from modeldeck.server.app import create_app
from modeldeck.storage.db.tables import audit_log, deployments
from modeldeck.storage.metadata import predictions as prediction_rows
from modeldeck.ui.production import bucket_for
from modeldeck.ui.session import COOKIE
from monitoring_support import DAY, MODEL, START, make, register, serve

HOUR = 3_600_000
LATENCIES = [10.0, 20.0, 30.0, 40.0]


@dataclass
class Site:
    http: TestClient
    owner: LocalClient
    viewer_token: str
    deployment_id: str


def _settings(home: Path) -> Settings:
    return Settings(home, f"sqlite:///{home / 'modeldeck.db'}", str(home / "objects"), "ann")


def _site(home: Path) -> tuple[TestClient, LocalClient, str, str]:
    owner = LocalClient(_settings(home))
    owner.add_user("ann")
    owner.grant("ann", "admin")
    owner.add_user("vic")  # no grant: a viewer
    admin_token = owner.create_token("ann").token
    viewer_token = owner.create_token("vic").token
    http = TestClient(create_app(_settings(home)), follow_redirects=False)
    http.cookies.set(COOKIE, admin_token)
    return http, owner, admin_token, viewer_token


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("production") / "md"
    http, owner, _, viewer_token = _site(home)
    register(owner, rows=400)
    served = owner.start_deployment(
        model=MODEL,
        reference=f"models:/{MODEL}@champion",
        version=1,
        host="127.0.0.1",
        port=8700,
        workers=2,
        canary_reference=f"models:/{MODEL}/1",
        canary_version=1,
        canary_share=0.1,
    )
    gone = owner.start_deployment(
        model=MODEL, reference=f"models:/{MODEL}/1", version=1, host="h", port=1, workers=1
    )
    owner.stop_deployment(gone.id)
    owner.create_monitor(MODEL, window="1d", origin=START)
    owner.add_alert_rule(MODEL, "drift_share > 0.3")
    calm = make(400, seed=2)
    ids = serve(owner, calm, day=0, prefix="calm")
    serve(owner, make(400, seed=3, shift=1.0), day=1, prefix="shift")
    owner.log_labels(ids, calm["label"].tolist())
    # four requests in one hour of day 2, with latencies to take percentiles of
    owner.log_predictions(
        [
            Prediction(
                request_id=f"slow-{i}",
                row=0,
                model=MODEL,
                version=1,
                role="primary",
                time=START + 2 * DAY + i * 60_000,
                latency_ms=latency,
                inputs={"x1": 0.0, "x2": 5.0, "segment": "a"},
                outputs={"prediction": 0},
            )
            for i, latency in enumerate(LATENCIES)
        ]
    )
    owner.run_monitor(MODEL, now=START + 2 * DAY)
    yield Site(http, owner, viewer_token, served.id)
    http.close()
    owner.close()


def as_user(site: Site, token: str | None) -> TestClient:
    """Another browser on the same app, signed in with ``token`` (None: not signed in)."""
    other = TestClient(site.http.app, follow_redirects=False)
    if token:
        other.cookies.set(COOKIE, token)
    return other


def table(html: str, element_id: str) -> str:
    found = re.search(rf'<table[^>]*id="{element_id}".*?</table>', html, re.S)
    assert found, f"no table #{element_id}"
    return found.group(0)


# --- sign-in -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/ui/production", f"/ui/production/{MODEL}", "/ui/audit?actor=ann"]
)
def test_pages_send_strangers_to_sign_in(site: Site, path: str) -> None:
    response = as_user(site, None).get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/signin?next=/ui/")


def test_chart_data_needs_a_token(site: Site) -> None:
    response = as_user(site, None).get(f"/ui/api/production/{MODEL}/traffic")
    assert response.status_code == 401


# --- production --------------------------------------------------------------------------------


def test_overview_lists_deployments_and_monitors(site: Site) -> None:
    with site.owner.store.db.write() as conn:  # a third deployment that stopped beating
        conn.execute(
            sa.update(deployments).where(deployments.c.id == site.deployment_id).values(last_seen=0)
        )
    try:
        page = site.http.get("/ui/production")
    finally:
        site.owner.deployment_heartbeat(site.deployment_id)
    assert page.status_code == 200
    rows = table(page.text, "deployments")
    assert f'data-deployment="{site.deployment_id}" data-status="lost"' in rows
    assert 'data-status="stopped"' in rows
    assert "primary v1 90%" in rows and "canary v1 10%" in rows
    assert f"models:/{MODEL}@champion" in rows and ">ann<" in rows
    assert "Production" in page.text and 'class="active"' in page.text
    watched = table(page.text, "monitors")
    assert f'href="/ui/production/{MODEL}"' in watched and "1d" in watched
    running = table(site.http.get("/ui/production").text, "deployments")
    assert 'data-status="running"' in running


def test_model_page_has_charts_drift_quality_alerts_and_report(site: Site) -> None:
    page = site.http.get(f"/ui/production/{MODEL}")
    assert page.status_code == 200, page.text
    html = page.text
    for chart in ("requests-chart", "latency-chart", "drift-chart", "performance-chart"):
        assert f'<div id="{chart}" class="chart"' in html
    drift = table(html, "drift-columns")
    assert {"x1", "x2", "segment"} <= set(re.findall(r'data-column="([^"]+)"', drift))
    assert len(re.findall(r"data-window=", drift)) == 2  # the two days
    shifted_x1 = re.search(r'data-column="x1">.*?</tr>', drift, re.S)
    assert shifted_x1 and shifted_x1.group(0).count('class="cell drifted"') == 1
    assert 'data-metrics="accuracy' in html and "auc" in html
    assert "<table" in table(html, "quality")
    alerts = table(html, "alerts")
    assert "drift_share &gt; 0.3" in alerts and "notify" in alerts
    assert 'id="report-link" href="/ui/production/churn/report"' in html


def test_a_model_nobody_knows_is_a_404_page(site: Site) -> None:
    page = site.http.get("/ui/production/nobody")
    assert page.status_code == 404 and "no deployment" in page.text


def test_traffic_counts_requests_and_takes_latency_percentiles(site: Site) -> None:
    url = f"/ui/api/production/{MODEL}/traffic?since={START}&until={START + 3 * DAY}"
    body = site.http.get(url).json()
    assert body["bucket_ms"] == HOUR == bucket_for(3 * DAY)
    assert len(body["buckets"]) == 72
    assert sum(b["requests"] for b in body["buckets"]) == 804
    slow = body["buckets"][48]
    assert slow["start"] == START + 2 * DAY and slow["requests"] == 4
    assert slow["latency_p50"] == pytest.approx(25.0)
    assert slow["latency_p95"] == pytest.approx(38.5)
    assert (slow["latency_avg"], slow["latency_max"]) == (pytest.approx(25.0), 40.0)
    assert slow["rate_per_min"] == pytest.approx(4 / 60)
    empty = body["buckets"][50]
    assert empty["requests"] == 0 and empty["latency_p50"] is None
    # by default: the logged period, up to its last prediction
    default = site.http.get(f"/ui/api/production/{MODEL}/traffic").json()
    assert default["since"] == START and default["until"] == START + 2 * DAY + 3 * 60_000 + 1
    assert sum(b["requests"] for b in default["buckets"]) == 804
    assert site.http.get(url + "&role=canary").json()["buckets"][0]["requests"] == 0
    assert site.http.get(f"/ui/api/production/{MODEL}/traffic?since=5&until=5").status_code == 400


def test_drift_json_has_a_point_per_window_and_scores_per_column(site: Site) -> None:
    body = site.http.get(f"/ui/api/production/{MODEL}/drift").json()
    assert body["threshold"] == 0.5
    calm, shifted = body["windows"]
    assert (calm["start"], shifted["start"]) == (START, START + DAY)
    assert shifted["drift_share"] > 0.3 >= calm["drift_share"]
    assert "auc" in calm["metrics"]
    columns = {c["name"]: c for c in body["columns"]}
    assert [cell["drifted"] for cell in columns["x1"]["cells"]] == [False, True]
    assert all(isinstance(cell["score"], float) for cell in columns["x2"]["cells"])


def test_report_is_one_self_contained_page(site: Site) -> None:
    response = site.http.get(f"/ui/production/{MODEL}/report")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    html = response.text
    assert html.lstrip().lower().startswith("<!doctype html") and "x1" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


# --- storage: the traffic query on each backend -----------------------------------------------


def test_traffic_query_on_each_backend(client: LocalClient) -> None:
    times = [START + 10, START + 20, START + HOUR + 5, START + 3 * HOUR]
    client.log_predictions(
        [
            Prediction(f"r{i}", 0, MODEL, 1, "primary", t, float(i + 1), {"a": 1}, {})
            for i, t in enumerate(times)
        ]
        + [Prediction("r0", 1, MODEL, 1, "primary", times[0], 1.0, {"a": 1}, {})]
    )
    with client.store.db.read() as conn:
        found = prediction_rows.traffic(
            conn, model=MODEL, since=START, until=START + 4 * HOUR, bucket_ms=HOUR, sample=2
        )
        assert prediction_rows.time_range(conn, model=MODEL) == (times[0], times[-1])
    assert [(b.rows, b.requests) for b in found] == [(3, 2), (1, 1), (0, 0), (1, 1)]
    assert found[0].latency_max == 2.0 and found[0].latency_p50 is None  # older than the sample
    assert found[1].latency_p50 == 3.0 and found[3].latency_p95 == 4.0


# --- audit -------------------------------------------------------------------------------------


def test_audit_page_filters_and_verifies_the_chain(site: Site) -> None:
    page = site.http.get("/ui/audit")
    assert page.status_code == 200
    chain = re.search(r'id="chain"[^>]*>([^<]+)<', page.text)
    assert chain and re.fullmatch(r"intact: \d+ records verified", chain.group(1))
    rows = table(page.text, "audit")
    assert "user.add" in rows and "monitor.create" in rows and "<details" in rows
    only = table(site.http.get("/ui/audit?action=monitor.create").text, "audit")
    assert set(re.findall(r'<td class="mono">([a-z_.]+)</td>', only)) == {"monitor.create"}
    by_actor = table(site.http.get("/ui/audit?actor=nobody").text, "audit")
    assert "No records match" in by_actor
    about = table(site.http.get(f"/ui/audit?subject=models:/{MODEL}&limit=50").text, "audit")
    subjects = re.findall(r'<td class="mono">([a-z]+:/[^<]*)</td>', about)
    assert subjects and all(s.startswith(f"models:/{MODEL}") for s in subjects)


def test_a_viewer_reads_model_records_only(site: Site) -> None:
    viewer = as_user(site, site.viewer_token)
    page = viewer.get("/ui/audit")
    assert page.status_code == 200 and "user.add" not in table(page.text, "audit")
    refused = viewer.get("/ui/audit?subject=users:/ann")
    assert refused.status_code == 200 and 'class="error"' in refused.text


def test_a_tampered_record_breaks_the_chain(tmp_path: Path) -> None:
    http, owner, _, _ = _site(tmp_path / "md")
    try:
        with owner.store.db.write() as conn:
            conn.execute(sa.update(audit_log).where(audit_log.c.seq == 2).values(action="forged"))
        page = http.get("/ui/audit")
        chain = re.search(r'id="chain" class="([^"]+)"[^>]*>([^<]+)<', page.text)
        assert chain and "broken" in chain.group(1)
        assert chain.group(2).startswith("broken at #2")
    finally:
        http.close()
        owner.close()
