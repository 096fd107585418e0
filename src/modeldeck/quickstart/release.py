"""The quickstart's second act: from the best run to an approved, documented champion.

Registers the two best candidates, runs the validation gates on both (the runner-up fails a
slice check), shows that an author cannot approve their own version, has a second user re-run
the gates (an author's own evidence cannot promote), review and approve, promotes the winner
to ``champion``, writes its model card and prints the audit
trail with the verification of its hash chain.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import modeldeck
from modeldeck.client import fluent
from modeldeck.core.errors import GateFailed, PermissionDenied

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

MODEL = "churn"
REVIEWER = "dana"
POLICY = """\
# Validation gates of the quickstart's churn model (modeldeck.toml format).
[models.churn]
label = "churned"
task = "classification"

[[models.churn.checks]]
type = "metric"
metric = "auc"
min = 0.75

[[models.churn.checks]]
type = "slice"          # every region must be served well, not just the average
column = "region"
metric = "auc"
min = 0.80
min_rows = 30

[[models.churn.checks]]
type = "improvement"    # skipped while there is no champion
metric = "auc"
min_delta = 0.0

[[models.churn.checks]]
type = "latency"
p95_ms = 100.0
samples = 50

[[models.churn.checks]]
type = "signature"
"""
CARD = {
    "intended_use": (
        "Rank current subscribers by their risk of cancelling in the next month, so the "
        "retention team can call the riskiest first. Not for pricing or credit decisions."
    ),
    "ethical_considerations": (
        "Uses age and region. Scores must not be used to offer worse terms to a group; the "
        "region slice gate guards that each region is served as well as the others."
    ),
    "caveats_and_recommendations": (
        "Trained on one month of synthetic data. Re-evaluate monthly and watch for drift in "
        "the south region, where contracts change fastest."
    ),
}


@dataclass(frozen=True)
class ReleaseResult:
    champion_version: int | None
    versions: dict[str, int]  # candidate name -> registered version
    passed: dict[int, bool]
    card_paths: tuple[Path, ...]
    policy_path: Path
    eval_path: Path


def release(
    console: Console,
    run_ids: dict[str, str],
    results: dict[str, dict[str, float]],
    evaluation: pd.DataFrame,
) -> ReleaseResult:
    client = fluent.client()
    home = client.settings.home
    home.mkdir(parents=True, exist_ok=True)
    policy_path = home / "quickstart-policy.toml"
    policy_path.write_text(POLICY, encoding="utf-8")
    eval_path = home / "quickstart-eval.parquet"
    evaluation.to_parquet(eval_path, index=False)

    ranked = sorted(results, key=lambda name: results[name]["eval_auc"], reverse=True)[:2]
    versions = {}
    for name in ranked:
        version = modeldeck.register_model(
            f"runs:/{run_ids[name]}/model",
            MODEL,
            description=f"{name}, eval AUC {results[name]['eval_auc']:.3f}",
        )
        versions[name] = version.version
    console.rule(f"[bold]Registry[/]: {len(versions)} versions of '{MODEL}'")

    passed = {}
    for name, number in versions.items():
        evaluation_record = client.evaluate_model(MODEL, number, evaluation, policy=policy_path)
        passed[number] = evaluation_record.passed
        _print_gates(console, name, number, evaluation_record.result)

    winners = [n for n in versions.values() if passed[n]]
    champion = winners[0] if winners else None
    if champion is None:
        console.print("[bold red]No candidate passed its gates[/]: nothing is promoted.")
        return ReleaseResult(None, versions, passed, (), policy_path, eval_path)

    console.rule("[bold]Review[/]")
    author = client.settings.user
    client.grant(REVIEWER, "reviewer")
    console.print(f"granted [bold]{REVIEWER}[/] the reviewer role; {author} is admin")
    try:
        modeldeck.approve(MODEL, champion)
    except PermissionDenied as refused:
        console.print(f"[yellow]refused[/]: {refused}")
    reviewer = type(client)(replace(client.settings, user=REVIEWER))
    # an author's own evidence cannot promote: the reviewer runs the gates herself
    checked = reviewer.evaluate_model(MODEL, champion, evaluation, policy=policy_path)
    state = "[green]passed[/]" if checked.passed else "[bold red]FAILED[/]"
    console.print(
        f"{REVIEWER} re-ran the gates on version {champion} (the author's evidence does not "
        f"count toward champion): {state}"
    )
    if not checked.passed:
        _print_gates(console, f"re-run by {REVIEWER}", champion, checked.result)
        console.print("[bold red]The reviewer's gates failed[/]: nothing is promoted.")
        reviewer.close()
        return ReleaseResult(None, versions, passed, (), policy_path, eval_path)
    reviewer.approve(
        MODEL,
        champion,
        "gates passed and every region is above 0.80 AUC",
        evaluation=checked.id,
    )
    console.print(
        f"[green]approved[/] by {REVIEWER}: {MODEL} version {champion} "
        f"(on evaluation {checked.id[:8]})"
    )
    for number in versions.values():
        if number != champion:
            try:
                modeldeck.promote(MODEL, number)
            except GateFailed as blocked:
                console.print(f"[yellow]promotion of version {number} refused[/]: {blocked}")
    modeldeck.promote(MODEL, champion)
    console.print(f"[bold green]{MODEL}@champion → version {champion}[/]")

    cards = _write_card(client, reviewer, home, champion)
    console.print(f"model card: {', '.join(str(p) for p in cards)}")
    _print_audit(console, client)
    reviewer.close()
    return ReleaseResult(champion, versions, passed, cards, policy_path, eval_path)


def _print_gates(console: Console, name: str, number: int, result: Any) -> None:
    from rich.table import Table

    failed = [c for c in result.get("checks", []) if c.get("verdict") in ("fail", "error")]
    verdict = "[bold red]FAILED[/]" if failed else "[bold green]PASSED[/]"
    table = Table(title=f"{MODEL} version {number} ({name}): gates {verdict}", title_justify="left")
    for column in ("check", "value", "verdict", "detail"):
        table.add_column(column, overflow="fold")
    colors = {"pass": "green", "fail": "bold red", "error": "bold red", "skip": "dim"}
    for check in result.get("checks", []):
        value = check.get("value")
        table.add_row(
            str(check.get("name")),
            "" if value is None else f"{value:.3f}",
            f"[{colors.get(check.get('verdict'), '')}]{check.get('verdict')}[/]",
            str(check.get("detail") or ""),
        )
    console.print(table)


def _write_card(client: Any, reviewer: Any, home: Path, version: int) -> tuple[Path, ...]:
    client.edit_model_card(MODEL, version, CARD)
    client.set_model_card_status(MODEL, version, "in_review")
    reviewer.set_model_card_status(MODEL, version, "approved")
    folder = home / "cards"
    folder.mkdir(exist_ok=True)
    paths = []
    for fmt, suffix in (("markdown", "md"), ("html", "html")):
        path = folder / f"{MODEL}-v{version}.{suffix}"
        path.write_text(client.render_model_card(MODEL, version, format=fmt), encoding="utf-8")
        paths.append(path)
    return tuple(paths)


def _print_audit(console: Console, client: Any) -> None:
    import datetime as dt

    from rich.table import Table

    table = Table(title=f"Audit trail of models:/{MODEL}", title_justify="left")
    for column in ("#", "time", "actor", "action", "subject"):
        table.add_column(column)
    for record in reversed(client.audit_log(subject=f"models:/{MODEL}", limit=30)):
        style = "red" if record.action.startswith("denied:") else ""
        table.add_row(
            str(record.seq),
            dt.datetime.fromtimestamp(record.at / 1000).strftime("%H:%M:%S"),
            record.actor,
            record.action,
            record.subject,
            style=style,
        )
    console.print(table)
    chain = client.verify_audit()
    state = "[green]intact[/]" if chain.ok else f"[red]broken at #{chain.first_bad_seq}[/]"
    console.print(f"audit chain {state}: {chain.records} records verified")
