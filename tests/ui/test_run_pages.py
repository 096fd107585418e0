"""The run and compare pages, server side: their HTML, their JSON, LTTB, and who may see them.

In-process (httpx over ASGI) against ``create_app`` on a temp SQLite store; the browser side
is covered by the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from modeldeck.client.local import LocalClient
from modeldeck.core.settings import Settings
from modeldeck.server.app import create_app
from modeldeck.storage.metadata.series import history
from modeldeck.ui.downsample import lttb, lttb_indices
from modeldeck.ui.session import COOKIE

# --- LTTB --------------------------------------------------------------------------------------


def reference_lttb(x: list[float], y: list[float], n: int) -> list[int]:
    """The algorithm as usually written, one bucket and one candidate at a time."""
    size, buckets = len(x), n - 2
    edges = [1 + (b * (size - 2)) // buckets for b in range(buckets + 1)]
    kept, a = [0], 0
    for b in range(buckets):
        if b + 1 < buckets:
            after = range(edges[b + 1], edges[b + 2])
            nx = sum(x[j] for j in after) / len(after)
            ny = sum(y[j] for j in after) / len(after)
        else:
            nx, ny = x[-1], y[-1]

        def area(j: int, a: int = a, nx: float = nx, ny: float = ny) -> float:
            return abs((x[a] - nx) * (y[j] - y[a]) - (x[a] - x[j]) * (ny - y[a]))

        a = max(range(edges[b], edges[b + 1]), key=area)
        kept.append(a)
    return [*kept, size - 1]


@pytest.mark.parametrize(("size", "n"), [(10, 5), (1000, 37), (12_345, 100), (7, 3), (100, 99)])
def test_lttb_matches_the_plain_algorithm(size: int, n: int) -> None:
    rng = np.random.default_rng(size)
    x, y = np.sort(rng.random(size)), rng.random(size)
    assert lttb_indices(x, y, n).tolist() == reference_lttb(x.tolist(), y.tolist(), n)


def test_lttb_keeps_the_ends_and_at_most_n_points() -> None:
    x = np.arange(100_000, dtype=float)
    y = np.sin(x / 500)
    xs, _ = lttb(x, y, 1000)
    assert len(xs) == 1000
    assert (xs[0], xs[-1]) == (0, 99_999)
    assert np.all(np.diff(xs) > 0)
    for n in (3, 10, 999):
        assert len(lttb(x, y, n)[0]) <= n


def test_lttb_picks_the_extremes_of_a_spike() -> None:
    x = np.arange(50_000, dtype=float)
    y = np.zeros_like(x)
    y[12_345], y[40_000] = 100.0, -70.0
    xs, ys = lttb(x, y, 200)
    assert 12_345 in xs and 100.0 in ys
    assert 40_000 in xs and -70.0 in ys


def test_lttb_returns_short_series_whole() -> None:
    xs, ys = lttb([1, 2, 3], [4, 5, 6], 1000)
    assert xs.tolist() == [1, 2, 3] and ys.tolist() == [4, 5, 6]
    assert lttb([], [], 10)[0].size == 0
    assert lttb_indices(np.arange(5.0), np.arange(5.0), 2).tolist() == [0, 4]
    with pytest.raises(ValueError):
        lttb([1, 2], [1], 10)


# --- reading a series ------------------------------------------------------------------------


def test_history_reads_a_series_in_step_order_on_each_backend(client: LocalClient) -> None:
    """PostgreSQL packs the series into one value; SQLite reads rows: the same arrays."""
    run = client.create_run("series", name="s")
    rows = [(run.id, "m", float(s * 2), s, 100 + s) for s in (5, 3, 9, 1)]
    rows += [
        (run.id, "m", math.nan, 7, 1),
        (run.id, "m", -1.0, 3, 50),
        (run.id, "other", 1.0, 4, 1),
    ]
    client.tracker.log_metrics(rows)
    with client.store.db.read() as conn:
        steps, values = history(conn, run.id, "m")
        assert steps.tolist() == [1, 3, 3, 5, 7, 9]
        assert values[[0, 1, 2, 3, 5]].tolist() == [2.0, -1.0, 6.0, 10.0, 18.0]
        assert math.isnan(values[4])
        steps, values = history(conn, run.id, "m", 2.5, 7)
        assert steps.tolist() == [3, 3, 5, 7]
        assert history(conn, run.id, "nothing")[0].size == 0
        assert history(conn, run.id, "m", 10, None)[0].size == 0


# --- the pages ----------------------------------------------------------------------------------


class Site:
    """The app in-process; ``get`` sends the signed-in user's cookie unless told not to."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.token = token

    def get(self, url: str, *, signed: bool = True) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            cookies = {COOKIE: self.token} if signed else {}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", cookies=cookies
            ) as client:
                return await client.get(url)

        return asyncio.run(send())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Three runs: ``main`` (2,000 steps of loss, a spike, params, a dataset, artifacts, two
    children), and its children ``a`` and ``b``."""
    tmp = tmp_path_factory.mktemp("run-pages")
    settings = Settings(
        home=tmp / "md",
        tracking_uri=f"sqlite:///{tmp / 'md' / 'modeldeck.db'}",
        artifacts_uri=str(tmp / "objects"),
        user="ana",
    )
    owner = LocalClient(settings)
    try:
        owner.add_user("ana")
        owner.grant("ana", "admin")
        owner.add_user("vic")
        owner.grant("vic", "viewer")  # reading is all the pages need
        token = owner.create_token("vic").token
        tracker = owner.store
        main = owner.create_run("pages", name="main")
        steps = np.arange(2000)
        loss = 1 / (1 + steps / 100)
        loss[777] = 9.0
        rows = [(main.id, "train/loss", float(loss[s]), int(s), 1000 + int(s)) for s in steps]
        rows.append((main.id, "acc", math.nan, 5, 1))
        rows += [(main.id, "acc", 0.5 + s / 10, s, 2 + s) for s in range(3)]
        tracker.log_metrics(rows)
        tracker.log_params(main.id, {"lr": "0.01", "model": "gbm"})
        tracker.set_tags(main.id, {"team": "ml"})
        tracker.log_bytes(main.id, b"hello model", "model/weights.bin")
        folder = tmp / "report"
        (folder / "plots").mkdir(parents=True)
        (folder / "summary.txt").write_text("all good")
        (folder / "plots" / "roc.csv").write_text("fpr,tpr\n0,0\n1,1\n")
        tracker.log_artifact(main.id, folder, "report")
        frame = pd.DataFrame({"age": [31, 45, 52], "city": ["Oslo", "Bergen", "Oslo"]})
        tracker.log_dataset(main.id, frame, name="customers", context="training")
        children = []
        for name, lr, acc in (("a", "0.1", 0.7), ("b", "0.01", 0.9)):
            child = owner.create_run("pages", name=name, parent_id=main.id)
            tracker.log_params(child.id, {"lr": lr, "model": "gbm"})
            tracker.log_metrics([(child.id, "acc", acc, s, s) for s in range(10)])
            children.append(child.id)
    finally:
        owner.close()
    app = create_app(settings)
    yield {"site": Site(app, token), "main": main.id, "children": children}
    app.state.services.db.dispose()


def test_pages_need_a_signed_in_user(store: dict[str, Any]) -> None:
    site, main = store["site"], store["main"]
    for url in (f"/ui/runs/{main}", "/ui/compare", f"/ui/runs/{main}/artifacts/model/weights.bin"):
        page = site.get(url, signed=False)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/ui/signin?next=")
    api = site.get(f"/ui/api/runs/{main}/metrics/acc", signed=False)
    assert api.status_code == 401


def test_run_page_shows_the_whole_run(store: dict[str, Any]) -> None:
    site, main = store["site"], store["main"]
    page = site.get(f"/ui/runs/{main}")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="params"' in html and "gbm" in html and "0.01" in html
    assert 'id="metrics"' in html and "train/loss" in html
    assert '<div class="chart metric-chart" data-key="train/loss"></div>' in html
    assert '<div class="chart metric-chart" data-key="acc"></div>' in html
    assert f'href="/ui/runs/{main}/artifacts/model/weights.bin"' in html
    assert f'href="/ui/runs/{main}/artifacts/report/plots/roc.csv"' in html
    assert "customers" in html and "training" in html and "Oslo" not in html.split("raw")[0]
    assert "city" in html  # the profile's columns
    assert 'id="environment"' in html and "Git commit" in html
    for child in store["children"]:
        assert f'href="/ui/runs/{child}"' in html
    assert "run.css" in html


def test_child_links_to_its_parent(store: dict[str, Any]) -> None:
    site, main = store["site"], store["main"]
    html = site.get(f"/ui/runs/{store['children'][0]}").text
    assert f'<a href="/ui/runs/{main}">main</a>' in html


def test_unknown_run_is_a_404_page(store: dict[str, Any]) -> None:
    page = store["site"].get("/ui/runs/" + "0" * 32)
    assert page.status_code == 404
    assert "Run not found" in page.text


def test_metric_series_is_downsampled_on_the_server(store: dict[str, Any]) -> None:
    site, main = store["site"], store["main"]
    body = site.get(f"/ui/api/runs/{main}/metrics/train%2Floss?points=100&min=&max=").json()
    assert body["key"] == "train/loss" and body["total"] == 2000
    assert len(body["x"]) == len(body["y"]) == 100
    assert (body["x"][0], body["x"][-1]) == (0, 1999)
    assert 777 in body["x"] and 9.0 in body["y"]  # the spike survives
    whole = site.get(f"/ui/api/runs/{main}/metrics/train/loss?points=5000").json()
    assert whole["x"] == list(range(2000))


def test_metric_series_zooms_to_a_step_range(store: dict[str, Any]) -> None:
    site, main = store["site"], store["main"]
    body = site.get(f"/ui/api/runs/{main}/metrics/train/loss?points=1000&min=100.4&max=300").json()
    assert body["total"] == 200
    assert body["x"] == list(range(101, 301))


def test_metric_series_leaves_out_what_cannot_be_drawn(store: dict[str, Any]) -> None:
    site, main = store["site"], store["main"]
    body = site.get(f"/ui/api/runs/{main}/metrics/acc").json()
    assert body["total"] == 4 and body["skipped"] == 1
    assert body["x"] == [0, 1, 2] and body["y"] == pytest.approx([0.5, 0.6, 0.7])
    assert site.get(f"/ui/api/runs/{main}/metrics/nothing").json()["total"] == 0
    assert site.get(f"/ui/api/runs/{main}/metrics/acc?points=x").status_code == 400
    assert site.get("/ui/api/runs/" + "0" * 32 + "/metrics/acc").status_code == 404


def test_artifacts_download_and_directories_open(store: dict[str, Any]) -> None:
    site, main = store["site"], store["main"]
    got = site.get(f"/ui/runs/{main}/artifacts/model/weights.bin")
    assert got.status_code == 200 and got.content == b"hello model"
    assert got.headers["content-disposition"].startswith('attachment; filename="weights.bin"')
    inner = site.get(f"/ui/runs/{main}/artifacts/report/plots/roc.csv")
    assert inner.content == b"fpr,tpr\n0,0\n1,1\n"
    folder = site.get(f"/ui/runs/{main}/artifacts/report/plots")
    assert folder.status_code == 303
    assert folder.headers["location"] == f"/ui/runs/{main}?dir=report#artifacts"
    opened = site.get(f"/ui/runs/{main}?dir=report").text
    assert '<details class="artifact-dir" data-path="report" open>' in opened
    assert site.get(f"/ui/runs/{main}/artifacts/missing.txt").status_code == 404
    assert site.get(f"/ui/runs/{main}/artifacts/report/nope.txt").status_code == 404


def test_compare_page(store: dict[str, Any]) -> None:
    site, main = store["site"], store["main"]
    a, b = store["children"]
    page = site.get(f"/ui/compare?runs={main},{a},{b}&metric=acc")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<div id="compare-chart" class="chart" data-metric="acc">' in html
    assert 'id="compare-scatter"' in html
    assert 'id="compare-metric"' in html and "<option selected>acc</option>" in html
    assert '<tr class="differs" data-kind="params" data-key="lr">' in html
    assert '<tr class="same" data-kind="params" data-key="model">' in html
    assert '<tr class="differs" data-kind="metrics" data-key="acc">' in html
    # only the children have nothing but acc in common with main: acc is the common key
    assert "<option>train/loss</option>" not in html


def test_compare_limits_and_missing_runs(store: dict[str, Any]) -> None:
    site, main = store["site"], store["main"]
    empty = site.get("/ui/compare")
    assert empty.status_code == 200 and "Compare selected" in empty.text
    many = site.get("/ui/compare?runs=" + ",".join([main] + [f"{i:032x}" for i in range(25)]))
    assert "at most 20 runs" in many.text and many.status_code == 200
    missing = site.get("/ui/compare?runs=" + "f" * 32)
    assert missing.status_code == 404 and "no run with id" in missing.text


def test_the_scatter_ships_in_ui_js() -> None:
    script = (Path(__file__).parents[2] / "src/modeldeck/ui/static/ui.js").read_text()
    assert "window.md.scatter = scatter" in script
