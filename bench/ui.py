"""Web UI benchmark (issue 7): the runs page over 100,000 runs in PostgreSQL, and a run with
10 metrics × 100,000 steps opened in headless Chromium.

    python bench/ui.py [--quick] [--keep] [--postgres URL] [--repeat 10]

Fills a database of its own on the PostgreSQL server that ``--postgres`` (an admin URL) names,
with COPY (the fastest path; columns named from modeldeck's own table definitions), starts
``modeldeck server`` on it (2 workers, as ``server.py`` runs it), signs in through the form and
measures:

(a) GET /ui/runs: the first response after the server starts, then the median of ``--repeat``;
(b) /ui/runs/<id> of the 10 × 100,000 run in Chromium, until every ``.metric-chart`` has drawn
    (``data-drawn`` > 0): the first open, then the median of five;
(c) one metric of 1,000,000 steps: its series request (LTTB to 1,000 points on the server) and
    its page in Chromium, until drawn.

``--keep`` keeps the database (and reuses it next time when it holds the same data). See
bench/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table

from _venv import console
from server import Modeldeck, Server, Store

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE = "modeldeck_bench_ui"
EXPERIMENT = "bench-ui"
BIG, HUGE = "ten-metrics", "one-million"
FULL = {"runs": 100_000, "keys": 10, "steps": 100_000, "huge": 1_000_000}
QUICK = {"runs": 10_000, "keys": 10, "steps": 10_000, "huge": 100_000}
TARGETS = {"runs page": 0.300, "run page": 2.0, "series": 1.0, "huge page": 1.0}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALL_DRAWN = """() => {
  const charts = [...document.querySelectorAll('.metric-chart')];
  return charts.length > 0 && charts.every(c => Number(c.dataset.drawn) > 0);
}"""
now = time.perf_counter


# --- the database -------------------------------------------------------------------------------


def libpq(url: str) -> str:
    """``postgresql://…`` for psycopg from a SQLAlchemy URL (``postgresql+psycopg://…``)."""
    import sqlalchemy as sa

    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Database:
    """The benchmark's database on the admin URL's server: created, reused or dropped."""

    def __init__(self, admin_url: str, name: str) -> None:
        import psycopg
        import sqlalchemy as sa

        self.admin = psycopg.connect(libpq(admin_url), autocommit=True)
        self.name = name
        self.url = libpq(sa.make_url(admin_url).set(database=name).render_as_string(False))

    def exists(self) -> bool:
        found = self.admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name])
        return found.fetchone() is not None

    def create(self) -> None:
        self.drop()
        self.admin.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def close(self) -> None:
        self.admin.close()


def holds(url: str, size: dict[str, int]) -> bool:
    """Whether the database at ``url`` already holds this size's data (for ``--keep``)."""
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM runs r JOIN experiments e ON e.id = r.experiment_id "
                "WHERE e.name = %s",
                [EXPERIMENT],
            ).fetchone()
            steps = conn.execute(
                "SELECT count(*) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.name = %s",
                [HUGE],
            ).fetchone()
    except psycopg.Error:
        return False
    return bool(row and steps and row[0] == size["runs"] + 2 and steps[0] == size["huge"])


def copy(conn: Any, table: Any, rows: Iterable[dict[str, Any]]) -> int:
    """COPY ``rows`` into ``table`` (a modeldeck ``sa.Table``); the columns are the first
    row's keys, checked against the table's own definition."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    columns = list(first)
    unknown = set(columns) - {c.name for c in table.columns}
    if unknown:
        raise RuntimeError(f"{table.name} has no columns {sorted(unknown)}")
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as out:
        for row in itertools.chain([first], rows):
            out.write_row([row[c] for c in columns])
            count += 1
    return count


def fill(url: str, size: dict[str, int]) -> dict[str, str]:
    """The runs of EXPERIMENT, each with 5 params and 3 metrics (one step each), then the run
    with ``keys`` × ``steps`` and the run with one metric of ``huge`` steps. Their ids."""
    import random

    import psycopg

    from modeldeck.storage.db.tables import latest_metrics, metrics, params, runs

    rng = random.Random(7)
    start = int(time.time() * 1000) - size["runs"] * 60_000
    with psycopg.connect(url) as conn:
        experiment = conn.execute(
            "INSERT INTO experiments (name, created_at) VALUES (%s, %s) RETURNING id",
            [EXPERIMENT, start],
        ).fetchone()
        assert experiment is not None
        ids = [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(size["runs"] + 2)]
        big, huge = ids[-2], ids[-1]

        def run_rows() -> Iterator[dict[str, Any]]:
            for i, run_id in enumerate(ids):
                name = BIG if run_id == big else HUGE if run_id == huge else f"run-{i}"
                t0 = start + i * 60_000
                yield {
                    "id": run_id,
                    "experiment_id": experiment[0],
                    "name": name,
                    "status": "FINISHED" if i % 17 else "FAILED",
                    "user": f"user{i % 7}",
                    "start_time": t0,
                    "end_time": t0 + 30_000 + i % 1000,
                    "source": "train.py",
                    "entry_point": "train.py",
                    "git_commit": f"{i:040x}",
                    "git_dirty": i % 3 == 0,
                    "python_version": "3.11.9",
                    "host": f"host-{i % 4}",
                    "pid": 1000 + i % 30_000,
                }

        def param_rows() -> Iterator[dict[str, Any]]:
            for i, run_id in enumerate(ids):
                values = {
                    "model": ("gbm", "rf", "logreg")[i % 3],
                    "lr": f"{10 ** -(1 + i % 4):g}",
                    "depth": str(2 + i % 9),
                    "seed": str(i),
                    "features": ("all", "top50")[i % 2],
                }
                for key, value in values.items():
                    yield {"run_id": run_id, "key": key, "value": value}

        def small_metrics() -> Iterator[tuple[str, str, float, int, int]]:
            for i, run_id in enumerate(ids[:-2]):
                for key in ("auc", "loss", "accuracy"):
                    yield run_id, key, rng.random(), 0, start + i * 60_000

        def curve(run_id: str, key: str, k: int, steps: int) -> Iterator[tuple[Any, ...]]:
            noise = random.Random(f"{key}{k}")
            for step in range(steps):
                value = math.exp(-step / (steps / 5)) * (1 + k / 10) + noise.gauss(0, 0.02)
                yield run_id, key, value, step, start + step

        def history(rows: Iterable[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
            for run_id, key, value, step, ts in rows:
                yield {
                    "run_id": run_id,
                    "key": key,
                    "step": step,
                    "timestamp": ts,
                    "value": value,
                    "is_nan": False,
                }

        def series() -> Iterator[tuple[Any, ...]]:
            yield from small_metrics()
            for k in range(size["keys"]):
                yield from curve(big, f"metric_{k:02d}", k, size["steps"])
            yield from curve(huge, "loss", 0, size["huge"])

        copy(conn, runs, run_rows())
        copy(conn, params, param_rows())
        copy(conn, metrics, history(series()))
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for row in history(small_metrics()):
            latest[(row["run_id"], row["key"])] = row
        for run_id, keys, steps in (
            (big, [f"metric_{k:02d}" for k in range(size["keys"])], size["steps"]),
            (huge, ["loss"], size["huge"]),
        ):
            for key in keys:
                row = {"run_id": run_id, "key": key, "step": steps - 1, "timestamp": start}
                latest[(run_id, key)] = {**row, "value": 0.01, "is_nan": False}
        copy(conn, latest_metrics, latest.values())
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"big": big, "huge": huge}


def find_runs(url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT name, id FROM runs WHERE name IN (%s, %s)", [BIG, HUGE])
        found = dict(rows.fetchall())
    return {"big": found[BIG], "huge": found[HUGE]}


# --- the measurements ---------------------------------------------------------------------------


def sign_in(url: str, token: str) -> httpx.Client:
    """A client holding the session cookie the sign-in form sets."""
    client = httpx.Client(base_url=url, timeout=60)
    done = client.post("/ui/signin", data={"token": token, "next": "/ui/runs"})
    if done.status_code != 303 or "modeldeck_token" not in client.cookies:
        raise RuntimeError(f"sign-in failed: {done.status_code} {done.text[:300]}")
    return client


def timed_get(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    t0 = now()
    response = client.get(path)
    elapsed = now() - t0
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
    return elapsed, response


def runs_page(client: httpx.Client, repeat: int) -> dict[str, float]:
    first, page = timed_get(client, "/ui/runs")
    if "<tr data-run=" not in page.text:
        raise RuntimeError("the runs page lists no runs")
    times = [timed_get(client, "/ui/runs")[0] for _ in range(repeat)]
    return {"first": first, "median": statistics.median(times)}


def series_request(client: httpx.Client, run_id: str, key: str, total: int) -> dict[str, float]:
    path = f"/ui/api/runs/{run_id}/metrics/{key}?points=1000"
    first, response = timed_get(client, path)
    body = response.json()
    if body["total"] != total or len(body["x"]) > 1000:
        raise RuntimeError(f"{path}: total {body['total']}, {len(body['x'])} points")
    times = [timed_get(client, path)[0] for _ in range(5)]
    return {"first": first, "median": statistics.median(times)}


def browser_opens(
    url: str, token: str, paths: Sequence[tuple[str, int]], times: int
) -> list[dict[str, float]]:
    """For each (path, charts expected): seconds from navigation until every chart has drawn,
    the first time and the median of ``times`` more (a fresh page each time, one browser)."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_cookies([{"name": "modeldeck_token", "value": token, "url": url}])
            for path, charts in paths:
                samples = []
                for _ in range(times + 1):
                    page = context.new_page()
                    t0 = now()
                    page.goto(url + path, wait_until="commit")
                    page.wait_for_function(ALL_DRAWN, polling="raf", timeout=60_000)
                    samples.append(now() - t0)
                    found = page.locator(".metric-chart").count()
                    page.close()
                    if found != charts:
                        raise RuntimeError(f"{path}: {found} charts, expected {charts}")
                out.append({"first": samples[0], "median": statistics.median(samples[1:])})
        finally:
            browser.close()
    return out


# --- the report ---------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def report(rows: list[tuple[str, dict[str, float], float]], title: str) -> bool:
    """Print the table; whether every line passed."""
    table = Table(title=title)
    for name in ("scenario", "first", "median", "target", "result"):
        table.add_column(name, justify="left" if name == "scenario" else "right")
    passed = True
    for label, figures, target in rows:
        ok = figures["median"] < target
        passed &= ok
        table.add_row(
            label,
            ms(figures["first"]),
            ms(figures["median"]),
            f"< {ms(target)}",
            "[green]PASS[/]" if ok else "[red]MISS[/]",
        )
    console.print(table)
    console.print(
        "[dim]result: the median against the target; 'first' is the first request after the "
        "server started (a)/(c), or the first page the browser opened (b)/(c)."
    )
    return passed


@contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    if keep:
        path = Path(tempfile.gettempdir()) / "modeldeck-bench-ui"
        path.mkdir(exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="modeldeck-bench-ui-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def token_for(system: Modeldeck, reuse: bool) -> str:
    """A token for the server's admin: from ``server init`` on a new database, else a new one."""
    if not reuse:
        system.prepare()
        return system.headers["Authorization"].removeprefix("Bearer ")
    from modeldeck.client.local import LocalClient
    from modeldeck.core.settings import Settings

    env = system.env()
    settings = Settings(
        home=Path(env["MODELDECK_HOME"]),
        tracking_uri=env["MODELDECK_TRACKING_URI"],
        artifacts_uri=env["MODELDECK_ARTIFACTS"],
        user="root",
    )
    owner = LocalClient(settings)
    try:
        return owner.create_token("root", expires_in_days=1, description="bench/ui.py").token
    finally:
        owner.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 runs, 10 × 10,000 steps")
    parser.add_argument("--keep", action="store_true", help="keep the database, reuse it")
    parser.add_argument(
        "--postgres", default=PG_ADMIN, metavar="URL", help=f"admin URL ({PG_ADMIN})"
    )
    parser.add_argument("--repeat", type=int, default=10, help="runs page requests (10)")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    name = DATABASE + ("_quick" if args.quick else "")
    db = Database(args.postgres, name)
    server = None
    try:
        with workdir(args.keep) as work:
            reuse = args.keep and db.exists() and holds(db.url, size)
            system = Modeldeck(sys.executable, Store("postgres", work, db.url))
            if reuse:
                console.print(f"[dim]reusing database {name}")
                token = token_for(system, reuse=True)
                ids = find_runs(db.url)
            else:
                db.create()
                token = token_for(system, reuse=False)
                console.print(f"[dim]filling {name}: {size['runs']:,} runs + the chart runs …")
                t0 = now()
                ids = fill(db.url, size)
                console.print(f"[dim]filled in {now() - t0:.1f} s")
            server = Server(system)
            console.print(f"[dim]server up in {server.startup:.1f} s on {server.url}")
            with closing(sign_in(server.url, token)) as client:
                runs = runs_page(client, args.repeat)
                series = series_request(client, ids["huge"], "loss", size["huge"])
            big, huge = browser_opens(
                server.url,
                token,
                [(f"/ui/runs/{ids['big']}", size["keys"]), (f"/ui/runs/{ids['huge']}", 1)],
                times=5,
            )
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            with suppress(Exception):
                db.drop()
        db.close()
    rows = [
        (f"(a) GET /ui/runs over {size['runs']:,} runs", runs, TARGETS["runs page"]),
        (
            f"(b) run page, {size['keys']} × {size['steps']:,} steps, drawn",
            big,
            TARGETS["run page"],
        ),
        (f"(c) series of {size['huge']:,} points → 1,000 (LTTB)", series, TARGETS["series"]),
        (f"(c) run page, 1 × {size['huge']:,} steps", huge, TARGETS["huge page"]),
    ]
    title = f"modeldeck web UI on PostgreSQL ({os.cpu_count()} CPUs)"
    report(rows, title)
    return 0  # as in server.py: a MISS alone does not fail the run, an error does


if __name__ == "__main__":
    sys.exit(main())
