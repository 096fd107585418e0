"""End-to-end fixtures for the web UI: the quickstart's store, a real server, a real Chromium.

Built once per session (~30 s): ``modeldeck quickstart`` in a temp folder as the admin
``ana``, users with tokens (ana: admin, dana: the quickstart's reviewer, vic: a viewer), two
versions of ``churn`` whose gates passed and that nobody approved yet, then ``modeldeck
server`` on a free port over that store. Chromium is Debian's ``/usr/bin/chromium`` driven
by Playwright (never a browser download). Without it the tests are skipped with the reason,
unless ``MODELDECK_REQUIRE_BROWSER=1`` (``.ci/run`` sets it): then they fail. A failing test
saves a screenshot of each page it opened to ``test-results/<test>.png``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modeldeck.client.local import LocalClient
from server_support import Server, serve
from ui_support import (
    ADMIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    RESULTS,
    VIEWPORT,
    Site,
    add_users,
    browser_missing,
    pending_version,
    quickstart,
    store_env,
    store_settings,
)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, or a skip (a failure under MODELDECK_REQUIRE_BROWSER=1) saying why."""
    reason = browser_missing()
    if reason:
        if os.environ.get("MODELDECK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"MODELDECK_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return CHROMIUM


@dataclass(frozen=True)
class Quickstart:
    tmp: Path  # the store's home is tmp / "home", where server_support.serve points
    pristine: Path  # a copy of it made right after the quickstart, home in pristine / "home"
    log: Path


@pytest.fixture(scope="session")
def quickstart_store(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Quickstart:
    """``modeldeck quickstart`` once per session, and an untouched copy of its store."""
    tmp = tmp_path_factory.mktemp("ui-e2e")
    log = quickstart(tmp, tmp / "home")
    pristine = tmp_path_factory.mktemp("ui-readme")
    shutil.copytree(tmp / "home", pristine / "home", ignore=shutil.ignore_patterns("*.lock"))
    return Quickstart(tmp, pristine, log)


def _serve(tmp: Path, admin_token: str) -> Iterator[Server]:
    env = store_env(tmp / "home")
    yield from serve(
        tmp,
        env["MODELDECK_TRACKING_URI"],
        admin_token,
        admin=ADMIN,
        artifacts=env["MODELDECK_ARTIFACTS"],
    )


@pytest.fixture(scope="session")
def site(quickstart_store: Quickstart) -> Iterator[Site]:
    """The quickstart's store with the e2e users and versions awaiting review, served."""
    started = time.perf_counter()
    tmp = quickstart_store.tmp
    owner = LocalClient(store_settings(tmp / "home"))
    try:
        tokens = add_users(owner)
        pending = pending_version(owner, tmp / "home", "for the reviewer")
        pending_for_viewer = pending_version(owner, tmp / "home", "for the viewer")
    finally:
        owner.close()
    served = _serve(tmp, tokens[ADMIN])
    server = next(served)
    print(f"\nui e2e: users, versions and server ready in {time.perf_counter() - started:.1f} s")
    try:
        yield Site(server, tmp / "home", tokens, pending, pending_for_viewer)
    finally:
        served.close()


@pytest.fixture(scope="session")
def readme_site(quickstart_store: Quickstart) -> Iterator[Site]:
    """The quickstart's store as the quickstart left it (plus the admin's token), served:
    what the README's screenshots show."""
    tmp = quickstart_store.pristine
    owner = LocalClient(store_settings(tmp / "home"))
    try:
        tokens = add_users(owner, (ADMIN,))
    finally:
        owner.close()
    served = _serve(tmp, tokens[ADMIN])
    try:
        yield Site(next(served), tmp / "home", tokens)
    finally:
        served.close()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    """Chromium, for one test module: while Playwright's sync API runs, an asyncio loop runs
    on this thread, and other modules' ``asyncio.run`` (TestClient, ASGI transports) would
    fail, so it stops when the module ends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(
    browser: Any, site: Site, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """``new_page(on=site)``: a page in a fresh browser context (no cookies), 1280×800, whose
    relative URLs go to the server of ``on``.

    Each page made here is screenshotted into ``test-results/`` when the test fails.
    """
    contexts: list[Any] = []
    pages: list[Any] = []
    request.node.ui_pages = pages

    def make(on: Site | None = None) -> Any:
        context = browser.new_context(base_url=(on or site).url, viewport=VIEWPORT)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page_as(new_page: Callable[..., Any], site: Site) -> Callable[..., Any]:
    """``page_as(user, on=site)``: a new page signed in as ``user`` through the real sign-in
    form."""

    def sign_in(user: str, on: Site | None = None) -> Any:
        page = new_page(on)
        page.goto("/ui/signin")
        page.fill("input#token", (on or site).tokens[user])
        page.click("form[action='/ui/signin'] button[type=submit]")
        page.wait_for_url(re.compile(r"/ui/runs"))
        return page

    return sign_in


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure, a screenshot of each page the test opened: test-results/<test>[-n].png."""
    report = yield
    pages = getattr(item, "ui_pages", None)
    if report.failed and report.when == "call" and pages:
        RESULTS.mkdir(exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", item.name)
        for n, page in enumerate(pages):
            path = RESULTS / (f"{stem}.png" if n == 0 else f"{stem}-{n + 1}.png")
            try:
                page.screenshot(path=str(path), full_page=True)
            except Exception as exc:  # a closed or crashed page: say so, keep the report
                report.sections.append(("screenshot", f"{path}: not saved ({exc})"))
            else:
                report.sections.append(("screenshot", f"{path} (at {page.url})"))
    return report
