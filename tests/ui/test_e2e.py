"""The web UI end to end: a real headless Chromium against a real server over the quickstart's
store (fixtures: tests/ui/conftest.py). Sign in, filter and sort runs, compare two runs on a
chart, approve as a reviewer and find it in the audit log, be refused as a viewer, read the
drift view; and write the README's screenshots."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from ui_support import ADMIN, MODEL, REVIEWER, SCREENSHOTS, VIEWER, expect, wait_drawn

# one worker runs them all, so the session's quickstart store and browser are built once
# (`make test` distributes with --dist loadgroup)
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ROWS = "table#runs tbody tr[data-run]"
SIGN_IN = "form[action='/ui/signin'] button[type=submit]"
QUERY = "metrics.eval_auc > 0.8"


def _run_ids(page):
    return page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.run)")


def _submit_filter(page, text):
    box = page.locator("#runs-filter input[name=q]")
    box.fill(text)
    with page.expect_navigation():
        box.press("Enter")


def test_sign_in_wrong_token_then_right_then_out(new_page, site):
    page = new_page()
    page.goto("/ui/runs")
    expect(page).to_have_url(re.compile(r"/ui/signin\?next=/ui/runs$"))

    page.fill("input#token", "mdk_not-a-token")
    with page.expect_navigation() as refused:
        page.click(SIGN_IN)
    assert refused.value.status == 401
    expect(page.locator("p.error")).to_be_visible()
    expect(page.locator("table#runs")).to_have_count(0)

    page.fill("input#token", site.tokens[ADMIN])
    page.click(SIGN_IN)
    expect(page).to_have_url(re.compile(r"/ui/runs$"))
    expect(page.locator(ROWS).first).to_be_visible()
    expect(page.locator("header .who")).to_contain_text(f"{ADMIN} · admin")

    page.click("form[action='/ui/signout'] button")
    expect(page).to_have_url(re.compile(r"/ui/signin"))
    page.goto("/ui/runs")  # the cookie is gone: back to the form
    expect(page).to_have_url(re.compile(r"/ui/signin\?next="))
    expect(page.locator("input#token")).to_be_visible()


def test_filter_and_sort_runs(page_as, site):
    owner = site.client()
    try:
        every = {run.id for run in owner.search_runs().runs}
        matching = {run.id for run in owner.search_runs(filter=QUERY).runs}
    finally:
        owner.close()
    assert 0 < len(matching) < len(every) <= 50  # one page of the table holds them all

    page = page_as(ADMIN)
    assert set(_run_ids(page)) == every

    _submit_filter(page, QUERY)
    assert parse_qs(urlsplit(page.url).query)["q"] == [QUERY]
    expect(page.locator(ROWS)).to_have_count(len(matching))
    assert set(_run_ids(page)) == matching
    expect(page.locator("p.error")).to_have_count(0)

    _submit_filter(page, "metrics.eval_auc >>> 0.8")
    error = page.locator("p.error")
    expect(error).to_contain_text("unknown operator '>>>'")
    expect(error).to_contain_text("expected one of =, !=, <")
    expect(page.locator(ROWS)).to_have_count(0)

    page.goto("/ui/runs?experiment=churn")
    names = page.locator(f"{ROWS} td:nth-child(2) a")
    with page.expect_navigation():
        page.click("table#runs thead a:text-is('Name')")
    assert parse_qs(urlsplit(page.url).query)["order"] == ["name desc"]
    shown = names.all_inner_texts()
    assert len(shown) >= 4 and shown == sorted(shown, reverse=True)
    with page.expect_navigation():
        page.click("table#runs thead a:has-text('Name')")  # now labelled "Name ▼"
    assert parse_qs(urlsplit(page.url).query)["order"] == ["name asc"]
    assert names.all_inner_texts() == sorted(shown)


def test_compare_two_runs_on_a_chart(page_as, site):
    owner = site.client()
    try:
        by_name = {run.name: run.id for run in owner.search_runs(experiments="churn").runs}
    finally:
        owner.close()
    picked = [by_name["logreg"], by_name["hist-gbm"]]

    page = page_as(ADMIN)
    page.goto("/ui/runs?experiment=churn")
    button = page.locator("#compare-selected")
    expect(button).to_be_disabled()
    for run_id in picked:
        page.check(f"{ROWS}[data-run='{run_id}'] input.pick")
    expect(button).to_be_enabled()
    button.click()
    page.wait_for_url(re.compile(r"/ui/compare\?runs="))
    assert sorted(parse_qs(urlsplit(page.url).query)["runs"][0].split(",")) == sorted(picked)

    assert wait_drawn(page, "#compare-chart") > 0
    diff = page.locator("table#diff")
    expect(diff).to_be_visible()
    expect(diff).to_contain_text("logistic_regression")  # params.model differs
    expect(diff).to_contain_text("hist_gradient_boosting")


def test_reviewer_approves_and_the_audit_log_shows_it(page_as, site):
    version = site.pending
    page = page_as(REVIEWER)
    page.goto("/ui/approvals")
    waiting = page.locator(f"table#inbox tr[data-model='{MODEL}'][data-version='{version}']")
    expect(waiting).to_have_count(1)
    with page.expect_navigation():
        waiting.locator(f"a[href='/ui/models/{MODEL}/{version}']").click()
    expect(page).to_have_url(re.compile(rf"/ui/models/{MODEL}/{version}$"))

    form = page.locator("form.approve")
    form.locator("textarea[name=comment]").fill("e2e: gates passed, reviewed in the browser")
    with page.expect_navigation():
        form.locator("button[name=decision][value=approve]").click()
    expect(page.locator(".flash")).to_be_visible()
    expect(page.locator(".flash")).to_contain_text("approv")

    owner = site.client()
    try:
        decisions = owner.decisions(MODEL, version)
    finally:
        owner.close()
    assert [(d.reviewer, d.decision.value) for d in decisions] == [(REVIEWER, "approved")]

    page.goto("/ui/audit")
    rows = page.locator("table#audit tbody tr")
    entry = rows.filter(has_text="version.approve").filter(has_text=f"models:/{MODEL}/{version}")
    expect(entry).to_have_count(1)
    expect(entry.locator("td").nth(2)).to_have_text(REVIEWER)


def test_viewer_has_no_approve_form_and_a_direct_post_is_refused(page_as, site):
    version = site.pending_for_viewer
    where = f"/ui/models/{MODEL}/{version}"
    reviewer = page_as(REVIEWER)
    reviewer.goto(where)
    form = reviewer.locator("form.approve")
    expect(form).to_have_count(1)  # a reviewer would see it here
    action = form.get_attribute("action") or where

    page = page_as(VIEWER)
    answer = page.goto(where)
    assert answer is not None and answer.status == 200
    expect(page.locator("header .who")).to_contain_text(f"{VIEWER} · viewer")
    expect(page.locator("form.approve")).to_have_count(0)
    expect(page.locator("button[name=decision]")).to_have_count(0)

    posted = page.request.post(
        action, form={"comment": "a viewer tries", "decision": "approve"}, max_redirects=0
    )
    assert posted.status == 403, (posted.status, posted.text()[:500])
    owner = site.client()
    try:
        assert owner.decisions(MODEL, version) == []
    finally:
        owner.close()


def test_drift_view(page_as, site):
    page = page_as(ADMIN)
    answer = page.goto(f"/ui/production/{MODEL}")
    assert answer is not None and answer.status == 200
    assert wait_drawn(page, "#drift-chart") > 0
    columns = page.locator("table#drift-columns")
    expect(columns).to_be_visible()
    for column in ("monthly_charges", "tenure_months", "region"):
        expect(columns).to_contain_text(column)


# The runs page with a few chosen columns: its default eight overflow a 1280-pixel window.
README_COLUMNS = "params.model,metrics.eval_auc,metrics.cv_auc_mean"


@pytest.mark.parametrize(
    ("path", "ready", "name"),
    [
        (f"/ui/runs?experiment={MODEL}&cols={README_COLUMNS}", ROWS, "runs.png"),
        (f"/ui/models/{MODEL}", "main h1", "registry.png"),
    ],
    ids=["runs", "registry"],
)
def test_readme_screenshots(page_as, readme_site, path, ready, name):
    """docs/screenshots/{runs,registry}.png: the README's, of the store as the quickstart
    left it, 1280×800 (the whole page unless it is much taller than the window)."""
    page = page_as(ADMIN, readme_site)
    answer = page.goto(path)
    assert answer is not None and answer.status == 200
    expect(page.locator(ready).first).to_be_visible()
    page.wait_for_load_state("networkidle")
    tall = page.evaluate("document.documentElement.scrollHeight") > 1600
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / name
    page.screenshot(path=str(target), full_page=not tall)
    assert target.stat().st_size > 10_000
