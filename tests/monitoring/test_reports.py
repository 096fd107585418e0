"""The HTML monitoring report: content, escaping, no external references, well-formed SVG,
chart edge cases, and the atomic file write."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from modeldeck.monitoring.reports import (
    AlertLine,
    ColumnSection,
    Distribution,
    QualityIssue,
    Report,
    WindowPoint,
    render_html,
    write_html,
)

DAY = 86_400_000
T0 = 1_769_904_000_000  # 2026-02-01 00:00 UTC
EVIL = "<script>alert(1)</script>"


def numeric(name: str, *, drifted: bool, score: float, shift: int = 0) -> ColumnSection:
    reference = (5.0, 20.0, 40.0, 25.0, 10.0, 0.0)
    current = reference[-shift:] + reference[:-shift] if shift else reference
    return ColumnSection(
        name=name,
        kind="numeric",
        method="wasserstein",
        score=score,
        threshold=0.1,
        drifted=drifted,
        distribution=Distribution(
            kind="numeric",
            edges=(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
            reference=reference,
            current=tuple(c * 3 for c in current),  # another size: shares still compare
        ),
        reference_summary={"mean": 2.4, "missing": 0.0, "min": 0.01, "max": 5.9},
        current_summary={"mean": 3.1234567, "missing": 0.02, "min": 0.2, "max": 6.0},
    )


def categorical(name: str, *, drifted: bool, score: float) -> ColumnSection:
    return ColumnSection(
        name=name,
        kind="categorical",
        method="chisquare",
        score=score,
        threshold=0.05,
        drifted=drifted,
        distribution=Distribution(
            kind="categorical",
            labels=("monthly", "yearly", "two-year", EVIL),
            reference=(500.0, 300.0, 190.0, 10.0),
            current=(700.0, 200.0, 90.0, 10.0),
        ),
        reference_summary={"distinct": 4, "missing": 0.0, "top": "monthly"},
        current_summary={"distinct": 4, "missing": 0.0, "top": "monthly"},
    )


def make_report(**changes: object) -> Report:
    trend = tuple(
        WindowPoint(
            start=T0 + k * 7 * DAY,
            end=T0 + (k + 1) * 7 * DAY,
            rows=1_000 + 10 * k,
            drift_share=0.1 * k,
            dataset_drift=0.1 * k >= 0.5,
            metrics={
                "auc": 0.85 - 0.02 * k,
                "accuracy": None if k == 2 else 0.8 - 0.01 * k,
                "label_coverage": 0.9,
                "f1": None,  # never computed: no chart
            },
        )
        for k in range(6)
    )
    report = Report(
        model="churn",
        version=3,
        reference="dataset churn-train (sha256 abcd…), 3,750 rows",
        current="predictions of deployment d-123, 2026-02-01 – 2026-03-15, 4,100 rows",
        generated_at=T0 + 43 * DAY,
        window_start=T0,
        window_end=T0 + 42 * DAY,
        columns=[
            numeric("tenure", drifted=False, score=0.0312345),
            numeric("monthly_charges", drifted=True, score=0.4567891, shift=2),
            categorical("contract", drifted=True, score=1.234e-7),
            categorical("payment_method", drifted=False, score=0.62),
        ],
        share_drifted=0.5,
        share_threshold=0.5,
        dataset_drifted=True,
        prediction=replace(numeric("prediction", drifted=True, score=0.2), method="psi"),
        quality=(
            QualityIssue("tenure", "missing", 82, 0.02, "82 of 4,100 rows have no value"),
            QualityIssue("contract", "unseen_category", 3, 0.0007, f"new value {EVIL}"),
            QualityIssue(None, "signature", 1, 0.0002, "column extra_col is not in the signature"),
        ),
        trend=trend,
        alerts=(
            AlertLine(
                fired_at=T0 + 35 * DAY,
                rule="drift_share > 0.3",
                value=0.4,
                window_start=T0 + 28 * DAY,
                window_end=T0 + 35 * DAY,
                action="notify",
                detail="4 of 10 columns drifted",
            ),
            AlertLine(
                fired_at=T0 + 42 * DAY,
                rule="auc < 0.78",
                value=0.75,
                window_start=T0 + 35 * DAY,
                window_end=T0 + 42 * DAY,
                action="retrain",
                detail="retraining pipeline churn-train started",
            ),
        ),
        notes=("Labels arrive with a delay of about 30 days.",),
    )
    return replace(report, **changes)  # type: ignore[arg-type]


def svgs(document: str) -> list[ET.Element]:
    found = re.findall(r"<svg\b.*?</svg>", document, flags=re.DOTALL)
    assert document.count("<svg") == len(found)
    return [ET.fromstring(svg) for svg in found]


def assert_self_contained(document: str) -> None:
    lowered = document.lower()
    for needle in ('src="http', 'href="http', "@import", "url(", "<script", "<link", "<iframe"):
        assert needle not in lowered, needle
    # no URL at all: not even the SVG namespace (inline SVG does not need one)
    assert "http://" not in lowered
    assert "https://" not in lowered


def test_report_content() -> None:
    document = render_html(make_report())
    assert document.startswith("<!DOCTYPE html>")
    assert "churn version 3" in document
    assert "Dataset drift detected" in document
    assert "2026-02-01 00:00 UTC" in document  # the window's start in the header
    assert "2 of 4" in document and "50.0% of columns drifted" in document
    for name in ("tenure", "monthly_charges", "contract", "payment_method"):
        assert name in document
    # scores to four significant digits, thresholds with their direction
    for score in ("0.03123", "0.4568", "1.234e-07", "0.62"):
        assert f'<td class="num">{score}</td>' in document
    assert "p ≤ 0.05" in document and "≥ 0.1" in document
    assert 'class="badge bad">drifted<' in document
    assert 'class="badge good">no drift<' in document
    # quality, alerts, notes, summaries
    assert "unseen category" in document and "82" in document
    assert "drift_share &gt; 0.3" in document and "auc &lt; 0.78" in document
    assert "retrain" in document and "notify" in document
    assert "Labels arrive with a delay" in document
    assert "3.123" in document  # the current mean, four significant digits
    # the prediction is summarised and charted
    assert "Prediction drift" in document and "psi 0.2" in document


def test_columns_are_listed_drifted_first_then_by_name() -> None:
    document = render_html(make_report())
    table = document[document.index("<h2>Columns</h2>") : document.index("<h2>Prediction")]
    names = re.findall(r'<a href="#column-\d+">([^<]+)</a>', table)
    assert names == ["contract", "monthly_charges", "payment_method", "tenure"]


def test_user_text_is_escaped() -> None:
    column = replace(categorical(EVIL, drifted=True, score=0.01), method=EVIL)
    report = make_report(
        model=f"m{EVIL}",
        reference=EVIL,
        columns=[column],
        alerts=(AlertLine(T0, EVIL, None, T0, T0, EVIL, EVIL),),
        notes=(EVIL, "see https://example.com/runbook"),
        trend=(WindowPoint(T0, T0 + DAY, 5, None, None, {EVIL: 0.5}),),
    )
    document = render_html(report)
    assert "<script" not in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    svgs(document)  # escaped text inside charts keeps them well-formed


def test_no_external_references() -> None:
    assert_self_contained(render_html(make_report()))


def test_svgs_are_well_formed() -> None:
    document = render_html(make_report())
    charts = svgs(document)
    # 5 columns with distributions (4 + prediction), drift share, auc, accuracy, coverage
    assert len(charts) == 9
    for chart in charts:
        assert chart.tag == "svg"
        assert "nan" not in ET.tostring(chart, encoding="unicode").lower()
    labels = [c.get("aria-label", "") for c in charts]
    assert "auc over time" in labels and "label_coverage over time" in labels
    assert "f1 over time" not in labels  # all None: no chart
    assert "monthly_charges: reference and current histogram" in labels
    assert "contract: reference and current category shares" in labels
    # a threshold line is drawn on the drift-share chart
    assert "threshold 50.0%" in document


@pytest.mark.parametrize(
    "distribution",
    [
        None,
        Distribution(kind="numeric"),
        Distribution(kind="numeric", edges=(0.0, 1.0), reference=(0.0,), current=(0.0,)),
        Distribution(kind="numeric", edges=(0.0, 1.0), reference=(7.0,), current=(3.0,)),
        Distribution(kind="numeric", edges=(2.0, 2.0), reference=(7.0,), current=(3.0,)),
        Distribution(kind="numeric", edges=(0.0, 1.0, 2.0), reference=(4.0, 1.0), current=()),
        Distribution(
            kind="numeric",
            edges=(-math.inf, 0.0, math.nan, math.inf),
            reference=(1.0, math.nan, 2.0),
            current=(-1.0, 3.0, math.inf),
        ),
        Distribution(kind="numeric", edges=(), reference=(1.0, 2.0), current=(2.0, 1.0)),
        Distribution(kind="categorical", labels=("a",), reference=(1.0,), current=(0.0,)),
        Distribution(kind="categorical", labels=("a", "b"), reference=(), current=()),
        Distribution(kind="categorical", labels=(), reference=(1.0, 2.0), current=(3.0,)),
        Distribution(
            kind="categorical",
            labels=tuple(f"category-with-a-long-name-{i}" for i in range(60)),
            reference=tuple(float(i) for i in range(60)),
            current=tuple(float(60 - i) for i in range(60)),
        ),
    ],
)
def test_distribution_edge_cases(distribution: Distribution | None) -> None:
    column = replace(
        numeric("x", drifted=False, score=math.nan),
        distribution=distribution,
        reference_summary={},
        current_summary={"mean": math.nan, "missing": None, "flag": True},
    )
    document = render_html(make_report(columns=[column], prediction=None))
    for chart in svgs(document):
        assert "nan" not in ET.tostring(chart, encoding="unicode").lower()
    assert "n/a" in document  # a NaN score


def test_categorical_chart_shows_the_top_20() -> None:
    labels = tuple(f"c{i:02d}" for i in range(30))
    column = replace(
        categorical("plan", drifted=False, score=0.5),
        distribution=Distribution(
            kind="categorical",
            labels=labels,
            reference=tuple(float(i) for i in range(30)),
            current=tuple(float(i) for i in range(30)),
        ),
    )
    document = render_html(make_report(columns=[column], prediction=None))
    assert ">c29<" in document and ">c10<" in document
    assert ">c09<" not in document
    assert "The 20 most frequent of 30 categories" in document


@pytest.mark.parametrize(
    "trend",
    [
        (),
        (WindowPoint(T0, T0 + DAY, 10, 0.2, False, {"auc": 0.8}),),
        (WindowPoint(T0, T0 + DAY, 0, None, None, {"auc": None}),),
        (
            WindowPoint(T0, T0 + DAY, 10, math.nan, None, {"auc": math.nan, "rmse": 3.0}),
            WindowPoint(T0 + DAY, T0 + 2 * DAY, 10, 0.7, True, {"auc": 0.7, "rmse": 3.0}),
            WindowPoint(T0 + DAY, T0 + 2 * DAY, 10, 1.5, True, {"auc": math.inf}),
        ),
        tuple(
            WindowPoint(T0 + k * 60_000, T0 + (k + 1) * 60_000, 1, 0.0, False, {"mae": 0.0})
            for k in range(500)
        ),
    ],
)
def test_trend_edge_cases(trend: tuple[WindowPoint, ...]) -> None:
    document = render_html(make_report(trend=trend, quality=(), alerts=(), notes=()))
    for chart in svgs(document):
        assert "nan" not in ET.tostring(chart, encoding="unicode").lower()
    assert "No issues found" in document and "No alerts fired" in document
    assert_self_contained(document)


def test_verdicts_without_drift() -> None:
    columns = [numeric("a", drifted=False, score=0.01), numeric("b", drifted=False, score=0.02)]
    report = make_report(
        columns=columns,
        share_drifted=0.0,
        dataset_drifted=False,
        prediction=None,
        version=None,
        window_start=None,
        window_end=None,
    )
    document = render_html(report)
    assert "No drift detected" in document and "Not measured" in document
    assert "<h1>churn</h1>" in document
    empty = render_html(replace(report, columns=[]))
    assert "No columns were compared" in empty


def test_write_html(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "nested" / "churn.html"
    written = write_html(make_report(), target)
    assert written == target
    assert target.read_text(encoding="utf-8") == render_html(make_report())
    write_html(make_report(model="churn-v2"), str(target))  # replaces the file
    assert "churn-v2" in target.read_text(encoding="utf-8")
    assert [p.name for p in target.parent.iterdir()] == ["churn.html"]  # no temp file left


def test_twenty_columns_stay_small() -> None:
    columns = [
        numeric(f"num_{i}", drifted=i % 3 == 0, score=0.05 * i, shift=i % 4) for i in range(10)
    ] + [categorical(f"cat_{i}", drifted=i % 2 == 0, score=0.01 * i) for i in range(10)]
    document = render_html(make_report(columns=columns))
    assert len(document.encode("utf-8")) < 300_000
