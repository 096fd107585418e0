"""The registry pages: models, versions with their gate evidence, model card and lineage, the
approvals inbox, and the forms that approve, reject and promote.

Every write goes to the same services the API calls, as the signed-in user, so the services
decide who may do what (and audit refusals); a page only leaves out the buttons a user could
not use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.engine import Connection

from modeldeck.core.errors import InvalidInput, ModeldeckError, NotFound
from modeldeck.core.governance import Approval, Decision, Role
from modeldeck.core.hashing import is_digest
from modeldeck.core.registry import Evaluation, ModelVersion
from modeldeck.governance import cards
from modeldeck.governance.access import effective_role
from modeldeck.registry import lineage as lineages
from modeldeck.server.errors import status_of
from modeldeck.server.routes.registry import registry_of, reviews_of
from modeldeck.server.state import Services, services
from modeldeck.serving.deployments import Deployments
from modeldeck.storage.db.tables import approvals, evaluations, model_versions, registered_models
from modeldeck.ui.router import render
from modeldeck.ui.session import Signed, Viewer, same_origin
from modeldeck.wire.registry import MAX_COMMENT, MAX_VERSION

router = APIRouter(include_in_schema=False)
Svc = Annotated[Services, Depends(services)]
VersionParam = Annotated[int, PathParam(ge=1, le=MAX_VERSION)]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DEFAULT_ALIAS = "champion"


# --- the approvals inbox ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Waiting:
    """A version whose latest evaluation passed its gates and that no reviewer decided on."""

    name: str
    version: int
    project: str
    created_by: str
    created_at: int
    run_id: str | None


def _awaiting_review(conn: Connection) -> list[Waiting]:
    """One query, since every page's navigation badge counts these."""
    latest_passed = (
        sa.select(evaluations.c.passed)
        .where(evaluations.c.version_id == model_versions.c.id)
        .order_by(evaluations.c.created_at.desc(), evaluations.c.id)
        .limit(1)
        .scalar_subquery()
    )
    decided = sa.exists().where(approvals.c.version_id == model_versions.c.id)
    rows = conn.execute(
        sa.select(
            registered_models.c.name,
            model_versions.c.version,
            registered_models.c.project,
            model_versions.c.created_by,
            model_versions.c.created_at,
            model_versions.c.run_id,
        )
        .join(registered_models, registered_models.c.id == model_versions.c.model_id)
        .where(latest_passed.is_(True), ~decided)
        .order_by(model_versions.c.created_at, registered_models.c.name, model_versions.c.version)
    ).all()
    return [Waiting(*row) for row in rows]


def pending_count(request: Request) -> int:
    """How many versions wait for a reviewer's decision (the navigation's badge)."""
    svc: Services = request.app.state.services
    with svc.db.read() as conn:
        return len(_awaiting_review(conn))


@router.get("/ui/approvals", response_class=HTMLResponse)
def approvals_page(request: Request, viewer: Signed, svc: Svc) -> HTMLResponse:
    with svc.db.read() as conn:
        waiting = _awaiting_review(conn)
        roles = {p: effective_role(conn, p, viewer.user) for p in {w.project for w in waiting}}
    rows = [
        {
            "name": w.name,
            "version": w.version,
            "author": w.created_by,
            "registered": _when(w.created_at),
            "run_id": w.run_id,
            "can_review": roles[w.project].allows(Role.REVIEWER) and viewer.user != w.created_by,
            "own": viewer.user == w.created_by,
        }
        for w in waiting
    ]
    return render(
        request,
        viewer,
        "approvals.html",
        section="approvals",
        pending=len(waiting),
        rows=rows,
        is_reviewer=viewer.can(Role.REVIEWER),
    )


# --- models ---------------------------------------------------------------------------------------


@router.get("/ui/models", response_class=HTMLResponse)
def models_page(request: Request, viewer: Signed, svc: Svc) -> HTMLResponse:
    found = registry_of(svc).models()
    rows = [
        {
            "name": m.name,
            "latest": m.latest_version,
            "aliases": sorted(m.aliases.items()),
            "created_by": m.created_by,
            "created_at": _when(m.created_at),
            "description": m.description or "",
        }
        for m in found
    ]
    return render(
        request,
        viewer,
        "models.html",
        section="models",
        pending=pending_count(request),
        models=rows,
    )


@router.get("/ui/models/{name}", response_class=HTMLResponse)
def model_page(request: Request, name: str, viewer: Signed, svc: Svc) -> HTMLResponse:
    reg, rev = registry_of(svc), reviews_of(svc)
    model = reg.model(name)
    versions = []
    for version in reversed(reg.versions(name)):
        found = rev.evaluations(name, version.version)
        latest = found[0] if found else None
        versions.append(
            {
                "version": version.version,
                "run_id": version.run_id,
                "created_by": version.created_by,
                "created_at": _when(version.created_at),
                "gates": _gates(latest),
                "decisions": _current(rev.decisions(name, version.version)),
                "aliases": version.aliases,
                "replaces": version.replaces_version,
            }
        )
    history = [
        {
            "alias": e.alias,
            "version": e.version,
            "previous": e.previous_version,
            "actor": e.actor,
            "at": _when(e.at),
        }
        for e in reversed(reg.alias_history(name))
    ]
    return render(
        request,
        viewer,
        "model.html",
        section="models",
        pending=pending_count(request),
        model=model,
        aliases=sorted(model.aliases.items()),
        versions=versions,
        history=history,
    )


# --- one version --------------------------------------------------------------------------------


@router.get("/ui/models/{name}/{version}", response_class=HTMLResponse)
def version_page(
    request: Request, name: str, version: VersionParam, viewer: Signed, svc: Svc
) -> HTMLResponse:
    return _version_view(request, svc, viewer, name, version)


@router.post("/ui/models/{name}/{version}/decision", response_class=HTMLResponse)
def decide(
    request: Request,
    name: str,
    version: VersionParam,
    viewer: Signed,
    svc: Svc,
    decision: Annotated[str, Form()],
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Approve or reject as the signed-in user; the reviews service checks the role."""
    note = comment.strip() or None
    try:
        same_origin(request)
        if note is not None and len(note) > MAX_COMMENT:
            raise InvalidInput(f"a comment has at most {MAX_COMMENT} characters")
        rev = reviews_of(svc)
        if decision == "approve":
            made = rev.approve(name, version, viewer.user, note)
        elif decision == "reject":
            made = rev.reject(name, version, viewer.user, note)
        else:
            raise InvalidInput(f"unknown decision {decision!r}: approve or reject")
    except NotFound:
        raise
    except ModeldeckError as refused:
        return _version_view(
            request, svc, viewer, name, version, error=str(refused), status=status_of(refused)
        )
    done = f"{made.decision.value} {name} version {version}"  # approved / rejected
    return _back(name, version, done)


@router.post("/ui/models/{name}/{version}/promote", response_class=HTMLResponse)
def promote(
    request: Request,
    name: str,
    version: VersionParam,
    viewer: Signed,
    svc: Svc,
    alias: Annotated[str, Form(max_length=64)] = DEFAULT_ALIAS,
) -> Response:
    """Move an alias (champion by default) here; a refused move shows every unmet condition."""
    try:
        same_origin(request)
        event = reviews_of(svc).move_alias(name, version, alias, viewer.user)
    except NotFound:
        raise
    except ModeldeckError as refused:
        return _version_view(
            request, svc, viewer, name, version, error=str(refused), status=status_of(refused)
        )
    if event is None:
        return _back(name, version, f"{alias} already points at version {version}")
    return _back(name, version, f"moved {alias} of {name} to version {version}")


def _back(name: str, version: int, done: str) -> RedirectResponse:
    return RedirectResponse(
        f"/ui/models/{quote(name)}/{version}?done={quote(done)}", status_code=303
    )


def _version_view(
    request: Request,
    svc: Services,
    viewer: Viewer,
    name: str,
    number: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    reg, rev = registry_of(svc), reviews_of(svc)
    model = reg.model(name)
    version = reg.version(name, number)
    found = rev.evaluations(name, number)
    latest = found[0] if found else None
    with svc.db.read() as conn:
        role = effective_role(conn, model.project, viewer.user)
    card = cards.generate(svc.db, name, number)
    return render(
        request,
        viewer,
        "version.html",
        section="models",
        status_code=status,
        pending=pending_count(request),
        model=model,
        v=version,
        facts=_facts(version),
        evaluation=latest,
        gates=_gates(latest),
        checks=[_check(c) for c in (latest.result.get("checks", []) if latest else [])],
        metrics=sorted((latest.result.get("metrics") or {}).items()) if latest else [],
        earlier=[
            {"at": _when(e.created_at), "actor": e.actor, "passed": e.passed} for e in found[1:]
        ],
        decisions=[
            {
                "reviewer": d.reviewer,
                "decision": d.decision.value,
                "comment": d.comment or "",
                "at": _when(d.created_at),
            }
            for d in rev.decisions(name, number)
        ],
        blockers=rev.blockers(name, number),
        card_status=card.status.replace("_", " "),
        card_html=_card_fragment(card),
        lineage=_lineage_graph(svc, name, number),
        can_review=role.allows(Role.REVIEWER) and viewer.user != version.created_by,
        is_author=viewer.user == version.created_by,
        can_promote=role.allows(Role.CONTRIBUTOR),
        default_alias=DEFAULT_ALIAS,
        error=error,
    )


def _facts(version: ModelVersion) -> list[tuple[str, Any]]:
    return [
        ("URI", version.uri),
        ("Registered by", version.created_by),
        ("Registered at", _when(version.created_at)),
        ("Flavor", version.flavor or "—"),
        ("Package", version.package_digest),
        ("Artifact path", version.artifact_path or "—"),
        ("Replaces", f"version {version.replaces_version}" if version.replaces_version else "—"),
        ("Description", version.description or "—"),
        ("Tags", ", ".join(f"{k}={v}" for k, v in sorted(version.tags.items())) or "—"),
    ]


def _card_fragment(card: cards.ModelCard) -> Markup:
    """The body of the card's own HTML rendering, which escapes everything people wrote (raw
    HTML off in the Markdown renderer), so it can be placed in the page as it is."""
    page = cards.render_html(card)
    start, end = page.find("<main>"), page.rfind("</main>")
    if start < 0 or end < start:
        return Markup("<pre>{}</pre>").format(cards.render_markdown(card))
    return Markup(page[start + len("<main>") : end])


# --- objects: evidence plots ---------------------------------------------------------------------


@router.get("/ui/objects/{digest}")
def plot_object(digest: str, viewer: Signed, svc: Svc) -> Response:
    """A stored PNG (evidence plots), for signed-in users; anything else is not found.

    Only PNG bytes are ever answered, as image/png with nosniff, so no stored object can be
    served as a page of this origin. Every signed-in user may read run artifacts through the
    API already, so a digest grants nothing beyond what they can read there.
    """
    if not is_digest(digest):
        raise NotFound(f"no image {digest!r}")
    objects = svc.tracker.objects
    if not objects.exists(digest):
        raise NotFound(f"no image {digest}")
    data = objects.read_bytes(digest)
    if not data.startswith(PNG_MAGIC):
        raise NotFound(f"object {digest} is not a PNG image")
    return Response(
        data,
        media_type="image/png",
        headers={
            "Cache-Control": "private, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


# --- lineage graph --------------------------------------------------------------------------------

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 200, 44, 64, 18, 12
COLUMNS = ("datasets", "runs", "versions", "deployments")


@dataclass
class Node:
    key: str
    kind: str
    label: str
    sub: str
    href: str | None
    column: int
    row: int = 0
    current: bool = False

    @property
    def x(self) -> int:
        return PAD + self.column * (BOX_W + GAP_X)

    @property
    def y(self) -> int:
        return PAD + 22 + self.row * (BOX_H + GAP_Y)


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # from, to, label

    def add(self, node: Node) -> None:
        node.row = sum(1 for n in self.nodes if n.column == node.column)
        self.nodes.append(node)

    def layout(self) -> dict[str, Any]:
        """Boxes, headings and edge paths in SVG coordinates."""
        at = {n.key: n for n in self.nodes}
        rows = max((n.row for n in self.nodes), default=0) + 1
        paths = []
        for src, dst, label in self.edges:
            a, b = at[src], at[dst]
            if a.column == b.column:  # parent run, older generation: drawn upwards
                x = a.x + BOX_W // 2
                x1, y1, x2, y2 = x, a.y, x, b.y + BOX_H
            else:
                x1, y1, x2, y2 = a.x + BOX_W, a.y + BOX_H // 2, b.x, b.y + BOX_H // 2
            paths.append(
                {"d": f"M{x1},{y1} L{x2},{y2}", "label": label, "lx": x1 + 4, "ly": (y1 + y2) // 2}
            )
        return {
            "width": PAD * 2 + len(COLUMNS) * BOX_W + (len(COLUMNS) - 1) * GAP_X,
            "height": PAD * 2 + 22 + rows * (BOX_H + GAP_Y),
            "box_w": BOX_W,
            "box_h": BOX_H,
            "headings": [(PAD + i * (BOX_W + GAP_X), title) for i, title in enumerate(COLUMNS)],
            "nodes": self.nodes,
            "paths": paths,
        }


def _lineage_graph(svc: Services, name: str, number: int) -> dict[str, Any]:
    """dataset(s) → run (and the runs above it) → version (and the generations it replaces)
    → the deployments serving it now."""
    found = lineages.lineage(svc.db, name, number)
    graph = Graph()
    this = f"v{number}"
    graph.add(Node(this, "version", f"{name} v{number}", "this version", None, 2, current=True))
    if found.run is not None:
        run = found.run
        graph.add(Node("run", "run", run.name or run.id[:8], run.id[:12], _run_href(run.id), 1))
        graph.edges.append(("run", this, ""))
        below = "run"
        for parent in found.parents:
            key = f"run:{parent.id}"
            label = parent.name or parent.id[:8]
            graph.add(Node(key, "run", label, "parent run", _run_href(parent.id), 1))
            graph.edges.append((key, below, "parent"))
            below = key
        for i, used in enumerate(found.inputs):
            data = used.dataset
            key = f"data:{i}"
            label = data.name or data.digest[:12]
            graph.add(Node(key, "dataset", label, f"{used.context} · {data.digest[:10]}", None, 0))
            graph.edges.append((key, "run", used.context))
    newer = this
    for older in found.replaces:
        key = f"v{older.version}"
        graph.add(
            Node(key, "version", f"{name} v{older.version}", "replaced by ↑", _href(older), 2)
        )
        graph.edges.append((key, newer, "replaces"))
        newer = key
    for deployment in Deployments(svc.db, svc.clock).search(include_stopped=True, model=name):
        roles = [
            role
            for role, served in (
                ("primary", deployment.version),
                ("canary", deployment.canary_version),
                ("shadow", deployment.shadow_version),
            )
            if served == number
        ]
        if not roles:
            continue
        key = f"dep:{deployment.id}"
        state = deployment.status(svc.clock())
        graph.add(
            Node(
                key,
                "deployment",
                f"{deployment.host}:{deployment.port}",
                f"{'/'.join(roles)} · {state}",
                f"/ui/production/{quote(name)}",
                3,
            )
        )
        graph.edges.append((this, key, "serves"))
    return graph.layout()


def _run_href(run_id: str) -> str:
    return f"/ui/runs/{quote(run_id)}"


def _href(version: ModelVersion) -> str:
    return f"/ui/models/{quote(version.name)}/{version.version}"


# --- small formatting ----------------------------------------------------------------------------


def _gates(evaluation: Evaluation | None) -> str:
    if evaluation is None:
        return "none"
    return "passed" if evaluation.passed else "failed"


def _current(decisions: list[Approval]) -> list[tuple[str, str]]:
    """Each reviewer's latest decision, as (reviewer, approved|rejected)."""
    latest: dict[str, Decision] = {}
    for decision in decisions:
        latest[decision.reviewer] = decision.decision
    return [(reviewer, d.value) for reviewer, d in latest.items()]


def _check(check: Any) -> dict[str, str]:
    value = check.get("value")
    shown = f"{value:.4g}" if isinstance(value, float) else "" if value is None else str(value)
    verdict = str(check.get("verdict", ""))
    return {
        "name": str(check.get("name", "")),
        "value": shown,
        "threshold": str(check.get("threshold") or ""),
        "verdict": verdict,
        "tone": {"pass": "ok", "fail": "bad", "error": "bad", "skip": "warn"}.get(verdict, ""),
        "detail": str(check.get("detail") or ""),
    }


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")
