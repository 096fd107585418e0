"""Model cards (Mitchell et al. 2019, "Model Cards for Model Reporting") for model versions.

A card has the paper's nine sections, in its order. Five are generated from stored facts —
the version, its training run and datasets, the latest gate evaluation and its slices, the
review decisions — and rebuilt on every read, so they never drift from the evidence. The
other four (intended use, factors, ethical considerations, caveats) only people can write:
they start as a placeholder, and what people write is stored and kept across regenerations.

A card has its own review status, draft → in_review → approved. Approval needs a reviewer
who is not the version's author; any edit sends the card back to draft.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.engine import Connection

from modeldeck.core.entities import Run
from modeldeck.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from modeldeck.core.governance import Role
from modeldeck.governance.access import guarded_write, require
from modeldeck.governance.card_sections import (
    HUMAN_SECTIONS,
    SECTIONS,
    generated_sections,
    placeholder,
    when,
)
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit, evidence
from modeldeck.storage.metadata import cards as card_rows
from modeldeck.storage.metadata import datasets as dataset_rows
from modeldeck.storage.metadata import registry as rows
from modeldeck.storage.metadata import runs as run_rows

MAX_SECTION_CHARS = 100_000


class CardStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"

    @classmethod
    def parse(cls, text: str) -> CardStatus:
        try:
            return cls(str(text).strip().lower().replace(" ", "_").replace("-", "_"))
        except ValueError:
            raise InvalidInput(
                f"unknown card status {text!r}; statuses are {', '.join(s.value for s in cls)}"
            ) from None


# The moves set_status allows; going back to draft is always allowed.
_NEXT: dict[CardStatus, set[CardStatus]] = {
    CardStatus.DRAFT: {CardStatus.IN_REVIEW},
    CardStatus.IN_REVIEW: {CardStatus.APPROVED, CardStatus.DRAFT},
    CardStatus.APPROVED: {CardStatus.DRAFT},
}


@dataclass(frozen=True, slots=True)
class ModelCard:
    name: str
    version: int
    sections: dict[str, str]  # key -> Markdown, in SECTIONS order
    status: str  # a CardStatus value
    generated: dict[str, Any]  # the facts the generated sections were built from
    edited: tuple[str, ...] = ()  # the human sections that hold text people wrote
    updated_by: str | None = None  # the last person to edit the card or change its status
    updated_at: int | None = None

    @property
    def titles(self) -> dict[str, str]:
        """Section key -> title, in the paper's order."""
        return dict(SECTIONS)

    @property
    def digest(self) -> str:
        """sha256 of the card's content, recorded in the audit log when the card is approved."""
        text = json.dumps(self.sections, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- reading and writing ----------------------------------------------------------------------


def generate(db: Database, name: str, version: int) -> ModelCard:
    """The card of a version: generated sections from today's facts, human ones as stored."""
    number = _check_version(version)
    with db.read() as conn:
        return _card(conn, name, number)


def edit(
    db: Database,
    clock: Callable[[], int],
    name: str,
    version: int,
    sections: Mapping[str, str],
    actor: str,
) -> ModelCard:
    """Store what people wrote in human sections; an empty text restores the placeholder.

    A generated section may be sent back unchanged (as an editor round trip does) and is then
    ignored; changing one is refused, since it is rebuilt from the facts on every read. A real
    change sends the card back to draft.
    """
    number = _check_version(version)
    wanted = _check_sections(sections)
    with guarded_write(db, clock, actor, "card.edit", subject(name, number)) as conn:
        model = rows.model_row(conn, name, lock=True)
        require(conn, model.project, actor, Role.CONTRIBUTOR, "edit model cards")
        row = rows.version_row(conn, name, number)
        current = _card(conn, name, number)
        stored = card_rows.get(conn, row.id) or card_rows.StoredCard()
        merged = dict(stored.sections)
        for key, text in wanted.items():
            if key in HUMAN_SECTIONS:
                if not text or text == placeholder(key, current.generated):
                    merged.pop(key, None)
                else:
                    merged[key] = text
            elif text != current.sections[key].strip():
                raise InvalidInput(
                    f"the section {key!r} is generated from the version's lineage and evidence "
                    "and rebuilt on every read; people write "
                    f"{', '.join(HUMAN_SECTIONS)}"
                )
        changed = sorted(k for k in SECTIONS if merged.get(k) != stored.sections.get(k))
        if not changed:
            return current
        now = clock()
        card_rows.put(
            conn, row.id, sections=merged, status=CardStatus.DRAFT.value, actor=actor, at=now
        )
        audit.append(
            conn,
            actor=actor,
            action="card.edit",
            subject=subject(name, number),
            at=now,
            before={
                "status": stored.status,
                "sections": {k: stored.sections.get(k) for k in changed},
            },
            after={
                "status": CardStatus.DRAFT.value,
                "sections": {k: merged.get(k) for k in changed},
            },
        )
        return _card(conn, name, number)


def set_status(
    db: Database,
    clock: Callable[[], int],
    name: str,
    version: int,
    status: CardStatus | str,
    actor: str,
) -> ModelCard:
    """Move the card's review status: draft → in_review → approved, or back to draft."""
    number = _check_version(version)
    target = status if isinstance(status, CardStatus) else CardStatus.parse(status)
    with guarded_write(db, clock, actor, "card.status", subject(name, number)) as conn:
        model = rows.model_row(conn, name, lock=True)
        needed = Role.REVIEWER if target is CardStatus.APPROVED else Role.CONTRIBUTOR
        require(conn, model.project, actor, needed, f"set model cards to {target.value}")
        row = rows.version_row(conn, name, number)
        stored = card_rows.get(conn, row.id) or card_rows.StoredCard()
        current = CardStatus(stored.status)
        if target is current:
            raise Conflict(f"the model card of {name} version {number} is already {target}")
        if target not in _NEXT[current]:
            how = {
                CardStatus.APPROVED: "only a card in review can be approved: set it to in_review",
                CardStatus.IN_REVIEW: "an approved card goes back to draft before a new review",
            }[target]
            raise Conflict(
                f"the model card of {name} version {number} is {current}, not {target}: {how}"
            )
        if target is CardStatus.APPROVED and actor == row.created_by:
            raise PermissionDenied(
                f"{actor} registered {name} version {number} and cannot approve its model "
                "card: another reviewer must"
            )
        card = _card(conn, name, number)
        now = clock()
        card_rows.put(
            conn, row.id, sections=stored.sections, status=target.value, actor=actor, at=now
        )
        audit.append(
            conn,
            actor=actor,
            action="card.status",
            subject=subject(name, number),
            at=now,
            before={"status": current.value},
            after={"status": target.value, "card_digest": card.digest},
        )
        return _card(conn, name, number)


def subject(name: str, version: int) -> str:
    """The audit subject of a card; under its version, so the version's trail includes it."""
    return f"models:/{name}/{version}/card"


def _card(conn: Connection, name: str, number: int) -> ModelCard:
    row = rows.version_row(conn, name, number)
    facts = _facts(conn, name, number, row.id)
    stored = card_rows.get(conn, row.id) or card_rows.StoredCard()
    built = generated_sections(facts)
    sections = {
        key: (stored.sections.get(key) or placeholder(key, facts))
        if key in HUMAN_SECTIONS
        else built[key]
        for key in SECTIONS
    }
    return ModelCard(
        name=name,
        version=number,
        sections=sections,
        status=stored.status,
        generated=facts,
        edited=tuple(k for k in HUMAN_SECTIONS if stored.sections.get(k)),
        updated_by=stored.updated_by,
        updated_at=stored.updated_at,
    )


def _check_version(version: object) -> int:
    text = str(version)
    if isinstance(version, bool) or not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"a version is a positive whole number, got {version!r}")
    return int(text)


def _check_sections(sections: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(sections, Mapping) or not sections:
        raise InvalidInput("give the sections to edit as a mapping of section key to Markdown")
    unknown = [k for k in sections if k not in SECTIONS]
    if unknown:
        raise InvalidInput(
            f"unknown model card section(s) {', '.join(map(repr, unknown))}; the sections are "
            f"{', '.join(SECTIONS)} (people write {', '.join(HUMAN_SECTIONS)})"
        )
    clean = {}
    for key, text in sections.items():
        if not isinstance(text, str):
            raise InvalidInput(f"the section {key!r} must be text, got {type(text).__name__}")
        if len(text) > MAX_SECTION_CHARS:
            raise InvalidInput(
                f"the section {key!r} has {len(text)} characters; the limit is {MAX_SECTION_CHARS}"
            )
        clean[key] = text.strip()
    return clean


# --- facts ------------------------------------------------------------------------------------


def _facts(conn: Connection, name: str, number: int, version_id: int) -> dict[str, Any]:
    """Everything the generated sections say, as JSON-ready data."""
    model = rows.get_model(conn, name)
    version = rows.get_version(conn, name, number)
    runs = _run_and_parents(conn, version.run_id)
    evaluations = evidence.evaluations_of(conn, name, number, version_id)
    latest = evaluations[0] if evaluations else None
    evaluation: dict[str, Any] | None = None
    if latest is not None:
        result = latest.result
        digest = latest.dataset_digest or result.get("dataset_digest")
        evaluation = {
            "id": latest.id,
            "passed": latest.passed,
            "actor": latest.actor,
            "created_at": latest.created_at,
            "dataset_digest": digest,
            "dataset": _dataset_by_digest(conn, digest),
            "task": result.get("task"),
            "rows": result.get("rows"),
            "metrics": dict(result.get("metrics") or {}),
            "champion_version": latest.champion_version,
            "champion_metrics": result.get("champion_metrics"),
            "checks": [dict(c) for c in result.get("checks", [])],
        }
    seen: set[tuple[str, str]] = set()
    datasets = []
    for used_by in runs:
        for item in used_by.inputs:
            key = (item.dataset.id, item.context)
            if key in seen:
                continue
            seen.add(key)
            data = item.dataset
            datasets.append(
                {
                    "name": data.name,
                    "digest": data.digest,
                    "rows": data.num_rows,
                    "context": item.context,
                    "source": data.source,
                    "columns": dict(data.schema),
                    "run_id": used_by.id,
                }
            )
    run = runs[0] if runs else None
    return {
        "model": {
            "name": name,
            "version": number,
            "uri": version.uri,
            "project": model.project,
            "model_description": model.description,
            "description": version.description,
            "flavor": version.flavor,
            "signature": dict(version.signature) if version.signature else None,
            "package_digest": version.package_digest,
            "created_by": version.created_by,
            "created_at": version.created_at,
            "aliases": list(version.aliases),
            "tags": dict(version.tags),
            "replaces_version": version.replaces_version,
        },
        "run": None if run is None else _run_facts(run, runs[1:]),
        "datasets": datasets,
        "evaluation": evaluation,
        "evaluations": len(evaluations),
        "decisions": [
            {
                "reviewer": d.reviewer,
                "decision": d.decision.value,
                "comment": d.comment,
                "at": d.created_at,
            }
            for d in evidence.decisions(conn, name, number, version_id)
        ],
    }


def _run_and_parents(conn: Connection, run_id: str | None) -> list[Run]:
    """The run, then its parents, nearest first (a sweep's data is often logged on the parent)."""
    out: list[Run] = []
    seen: set[str] = set()
    while run_id and run_id not in seen and len(out) < 100:
        seen.add(run_id)
        run = run_rows.get(conn, run_id)
        out.append(run)
        run_id = run.parent_id
    return out


def _run_facts(run: Run, parents: Sequence[Run]) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "user": run.user,
        "status": run.status.value,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "git_commit": run.git_commit,
        "git_dirty": run.git_dirty,
        "source": run.source,
        "entry_point": run.entry_point,
        "python_version": run.python_version,
        "params": dict(run.params),
        "metrics": {k: None if not math.isfinite(v) else v for k, v in run.metrics.items()},
        "parents": [p.id for p in parents],
    }


def _dataset_by_digest(conn: Connection, digest: str | None) -> dict[str, Any] | None:
    if not digest:
        return None
    try:
        found = [d for d in dataset_rows.find(conn, digest) if d.digest == digest]
    except NotFound:
        return None
    if not found:
        return None
    return {"name": found[0].name, "rows": found[0].num_rows, "source": found[0].source}


# --- rendering ------------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def render_markdown(card: ModelCard) -> str:
    """The card as one Markdown document; raw HTML in any section is neutralised."""
    changed = ""
    if card.updated_by:
        changed = f" · last changed by {card.updated_by} on {when(card.updated_at)}"
    lines = [
        f"# Model card: {card.name} version {card.version}",
        "",
        _escape_tags(f"_Review status: {_status_text(card.status)}{changed}_"),
    ]
    for key, title in SECTIONS.items():
        lines += ["", f"## {title}", "", _neutralise_html(card.sections[key])]
    return "\n".join(lines) + "\n"


def render_html(card: ModelCard) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external assets), all escaped."""
    from markdown_it import MarkdownIt

    # raw HTML is off: any tag in a section is shown as text, never interpreted
    markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
    title = html.escape(f"Model card: {card.name} version {card.version}")
    status = html.escape(card.status)
    label = html.escape(_status_text(card.status))
    meta = f'Review status: <span class="status {status}">{label}</span>'
    if card.updated_by:
        meta += html.escape(f" · last changed by {card.updated_by} on {when(card.updated_at)}")
    body = "\n".join(
        f'<section id="{key}"><h2>{html.escape(heading)}</h2>\n'
        f"{markdown.render(card.sections[key])}</section>"
        for key, heading in SECTIONS.items()
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style></head>\n"
        f'<body><main><h1>{title}</h1>\n<p class="meta">{meta}</p>\n{body}\n'
        f'<p class="meta">Card digest <code>{card.digest}</code></p></main></body></html>\n'
    )


def _status_text(status: str) -> str:
    return status.replace("_", " ")


def _neutralise_html(text: str) -> str:
    """Escape what a Markdown renderer would take for an HTML tag, outside code.

    A fence left open is closed, so one section cannot swallow the rest of the card.
    """
    out = []
    fence: tuple[str, int] | None = None  # the open fence's character and length
    for line in text.split("\n"):
        found = _FENCE.match(line)
        if fence is None:
            if found:
                fence = (found.group(1)[0], len(found.group(1)))
                out.append(line)
            else:
                out.append(_escape_tags(line))
            continue
        out.append(line)
        if (
            found
            and found.group(1)[0] == fence[0]
            and len(found.group(1)) >= fence[1]
            and not line[found.end() :].strip()
        ):
            fence = None
    if fence is not None:
        out.append(fence[0] * fence[1])
    return "\n".join(out)


def _escape_tags(line: str) -> str:
    pieces = []
    last = 0
    for span in _CODE_SPAN.finditer(line):
        pieces.append(_TAG_START.sub("&lt;", line[last : span.start()]))
        pieces.append(span.group(0))
        last = span.end()
    pieces.append(_TAG_START.sub("&lt;", line[last:]))
    return "".join(pieces)


_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; color: #1d232a; background: #f6f7f9; margin: 0 }
main { max-width: 960px; margin: 2rem auto; padding: 1.5rem 2rem; background: #fff;
       border: 1px solid #dde1e6; border-radius: 8px }
h1 { font-size: 1.6rem; margin: 0 0 .25rem }
h2 { font-size: 1.2rem; border-bottom: 1px solid #dde1e6; padding-bottom: .25rem; margin-top: 2rem }
h3 { font-size: 1rem }
.meta, em { color: #5a6572 }
.status { padding: .1rem .5rem; border-radius: 999px; background: #e8ebef; font-weight: 600 }
.status.approved { background: #d6f5df; color: #145c2c }
.status.in_review { background: #fff1c9; color: #6b4e00 }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem }
th, td { border: 1px solid #dde1e6; padding: .25rem .6rem; text-align: left; vertical-align: top }
th { background: #f0f2f5 }
code { font: .85em ui-monospace, Menlo, monospace; background: #f0f2f5; padding: .05rem .3rem;
       border-radius: 4px; word-break: break-all }
"""
