"""``/api/v1/models``: versions, evidence, reviews, aliases and lineage.

Every route passes the token's owner to the registry services as the actor; the services check
roles inside their own transactions (and audit refusals), so a route never decides who may
write. Writes take an ``Idempotency-Key``: a retried request is applied once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import Response

from modeldeck.core.governance import Role
from modeldeck.registry import lineage as lineages
from modeldeck.registry.reviews import ContradictoryEvidence, Reviews
from modeldeck.registry.service import Registry, package_from_run, subject
from modeldeck.server.auth import Reader
from modeldeck.server.errors import error_response
from modeldeck.server.replay import IdempotencyKey, once
from modeldeck.server.routes.governance import require_role
from modeldeck.server.state import Services, services
from modeldeck.wire import registry as wire
from modeldeck.wire.numbers import MAX_MILLIS

router = APIRouter(prefix="/api/v1", tags=["registry"])
Svc = Annotated[Services, Depends(services)]
VersionParam = Annotated[int, PathParam(ge=1, le=wire.MAX_VERSION)]
AliasParam = Annotated[str, PathParam(json_schema_extra={"pattern": wire.ALIAS_PATTERN})]
VERSION = "/models/{name}/versions/{version}"


def registry_of(svc: Svc) -> Registry:
    return Registry(svc.db, svc.tracker.objects, svc.clock)


def reviews_of(svc: Svc) -> Reviews:
    return Reviews(svc.db, svc.tracker.objects, svc.clock)


Reg = Annotated[Registry, Depends(registry_of)]
Rev = Annotated[Reviews, Depends(reviews_of)]


# --- models and versions -----------------------------------------------------------------------


@router.get("/models")
def list_models(
    user: Reader,
    reg: Reg,
    name_like: Annotated[str | None, Query(max_length=250)] = None,
) -> wire.ModelList:
    """Registered models by name (``name_like`` is a SQL LIKE pattern), 1,000 at most."""
    return wire.ModelList(models=[wire.RegisteredModelOut.of(m) for m in reg.models(name_like)])


@router.get("/models/{name}")
def get_model(name: str, user: Reader, reg: Reg) -> wire.RegisteredModelOut:
    return wire.RegisteredModelOut.of(reg.model(name))


@router.post("/models/{name}/versions", status_code=201, response_model=wire.ModelVersionOut)
def register_version(
    name: str,
    body: wire.RegisterIn,
    user: Reader,
    svc: Svc,
    reg: Reg,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new version of ``name`` (created on first use) from a run's model package."""

    def write() -> wire.ModelVersionOut:
        version = reg.register(
            name,
            package_from_run(svc.tracker, body.source),
            user,
            description=body.description,
            tags=body.tags,
            replaces=body.replaces,
        )
        return wire.ModelVersionOut.of(version)

    return once(svc, user, idempotency_key, [name, body], write, status=201)


@router.get("/models/{name}/versions")
def list_versions(name: str, user: Reader, reg: Reg) -> wire.VersionList:
    return wire.VersionList(versions=[wire.ModelVersionOut.of(v) for v in reg.versions(name)])


@router.get(VERSION)
def get_version(name: str, version: VersionParam, user: Reader, reg: Reg) -> wire.ModelVersionOut:
    return wire.ModelVersionOut.of(reg.version(name, version))


@router.put(f"{VERSION}/description", status_code=204)
def set_description(
    name: str,
    version: VersionParam,
    body: wire.DescriptionIn,
    user: Reader,
    svc: Svc,
    reg: Reg,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def write() -> None:
        reg.set_description(name, version, body.text, user)

    return once(svc, user, idempotency_key, [name, version, body], write, status=204)


@router.post(f"{VERSION}/tags", status_code=204)
def set_version_tags(
    name: str,
    version: VersionParam,
    body: wire.TagsIn,
    user: Reader,
    svc: Svc,
    reg: Reg,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Set (add or overwrite) the tags given; the others stay."""

    def write() -> None:
        reg.set_tags(name, version, body.tags, user)

    return once(svc, user, idempotency_key, [name, version, body], write, status=204)


@router.put("/models/{name}/protected-aliases", status_code=204)
def set_protected_aliases(
    name: str,
    body: wire.ProtectedAliasesIn,
    user: Reader,
    svc: Svc,
    reg: Reg,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The aliases that move only with passed gates and an approval (admins only)."""

    def write() -> None:
        reg.set_protected_aliases(name, body.aliases, user)

    return once(svc, user, idempotency_key, [name, body], write, status=204)


# --- evidence and decisions --------------------------------------------------------------------


@router.post(f"{VERSION}/evaluations", status_code=201, response_model=wire.EvaluationOut)
def record_evaluation(
    name: str,
    version: VersionParam,
    body: wire.EvaluationIn,
    user: Reader,
    svc: Svc,
    reg: Reg,
    rev: Rev,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Store gate evidence and its plots (base64 PNG) for a version (contributors).

    ``passed`` must be what the checks give (some check passed, none failed or erred) and each
    verdict must agree with its value and threshold: a body that contradicts itself is refused
    (422). Evidence posted by the version's author is kept but does not count toward a
    protected alias; a reviewer's (not the author's) does."""
    # the service stores the plots before its transaction checks the role: check it first, so
    # a viewer's request writes no bytes
    project = reg.model(name).project
    require_role(
        svc, user, Role.CONTRIBUTOR, "version.evaluate", subject(name, version), project=project
    )

    def write() -> wire.EvaluationOut:
        evaluation = rev.record_evaluation(
            name,
            version,
            result=body.result,
            policy=body.policy,
            passed=body.passed,
            plots=body.plot_bytes(),
            actor=user,
            dataset_digest=body.dataset_digest,
            champion_version=body.champion_version,
        )
        return wire.EvaluationOut.of(evaluation)

    try:
        return once(svc, user, idempotency_key, [name, version, body], write, status=201)
    except ContradictoryEvidence as refused:  # well-formed JSON whose content is invalid
        return error_response(422, "VALIDATION_ERROR", str(refused))


@router.get(f"{VERSION}/evaluations")
def list_evaluations(
    name: str, version: VersionParam, user: Reader, rev: Rev
) -> wire.EvaluationList:
    """Newest first."""
    found = rev.evaluations(name, version)
    return wire.EvaluationList(evaluations=[wire.EvaluationOut.of(e) for e in found])


@router.post(f"{VERSION}/approve", response_model=wire.ApprovalOut)
def approve(
    name: str,
    version: VersionParam,
    body: wire.DecisionIn,
    user: Reader,
    svc: Svc,
    rev: Rev,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Approve a version (reviewers, never its author), on the evaluation ``evaluation``
    (default: its latest), which the approval records."""

    def write() -> wire.ApprovalOut:
        return wire.ApprovalOut.of(
            rev.approve(name, version, user, body.comment, evaluation=body.evaluation)
        )

    return once(svc, user, idempotency_key, [name, version, "approve", body], write)


@router.post(f"{VERSION}/reject", response_model=wire.ApprovalOut)
def reject(
    name: str,
    version: VersionParam,
    body: wire.DecisionIn,
    user: Reader,
    svc: Svc,
    rev: Rev,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Reject a version (reviewers); it blocks protected aliases until withdrawn."""

    def write() -> wire.ApprovalOut:
        return wire.ApprovalOut.of(
            rev.reject(name, version, user, body.comment, evaluation=body.evaluation)
        )

    return once(svc, user, idempotency_key, [name, version, "reject", body], write)


@router.get(f"{VERSION}/decisions")
def list_decisions(name: str, version: VersionParam, user: Reader, rev: Rev) -> wire.DecisionList:
    found = rev.decisions(name, version)
    return wire.DecisionList(decisions=[wire.ApprovalOut.of(d) for d in found])


@router.get(f"{VERSION}/blockers")
def promotion_blockers(name: str, version: VersionParam, user: Reader, rev: Rev) -> wire.Blockers:
    return wire.Blockers(blockers=rev.blockers(name, version))


# --- aliases -----------------------------------------------------------------------------------


@router.get("/models/{name}/aliases/{alias}")
def resolve_alias(name: str, alias: AliasParam, user: Reader, reg: Reg) -> wire.ModelVersionOut:
    """The version ``alias`` points at."""
    return wire.ModelVersionOut.of(reg.by_alias(name, alias))


@router.put("/models/{name}/aliases/{alias}", response_model=wire.AliasMoveOut)
def promote(
    name: str,
    alias: AliasParam,
    body: wire.AliasMoveIn,
    user: Reader,
    svc: Svc,
    rev: Rev,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Point ``alias`` at a version (contributors); a protected alias needs passed gates and
    an approval by a reviewer other than the author. ``event`` is null when nothing moved."""

    def write() -> wire.AliasMoveOut:
        event = rev.move_alias(name, body.version, alias, user)
        return wire.AliasMoveOut(event=None if event is None else wire.AliasEventOut.of(event))

    return once(svc, user, idempotency_key, [name, alias, body], write)


@router.delete("/models/{name}/aliases/{alias}", status_code=204)
def remove_alias(
    name: str,
    alias: AliasParam,
    user: Reader,
    svc: Svc,
    rev: Rev,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Remove an alias (contributors; admins for a protected one)."""

    def write() -> None:
        rev.remove_alias(name, alias, user)

    return once(svc, user, idempotency_key, [name, alias, "remove"], write, status=204)


@router.get("/models/{name}/alias-history")
def alias_history(
    name: str,
    user: Reader,
    reg: Reg,
    alias: Annotated[str | None, Query(max_length=64)] = None,
) -> wire.AliasHistory:
    found = reg.alias_history(name, alias)
    return wire.AliasHistory(events=[wire.AliasEventOut.of(e) for e in found])


@router.get("/models/{name}/aliases/{alias}/version-at")
def version_at(
    name: str,
    alias: AliasParam,
    user: Reader,
    reg: Reg,
    at: Annotated[int, Query(ge=-MAX_MILLIS, le=MAX_MILLIS)],
) -> wire.VersionAt:
    """The version ``alias`` pointed at, at ``at`` (epoch milliseconds); null if none."""
    return wire.VersionAt(version=reg.alias_at(name, alias, at))


# --- lineage -----------------------------------------------------------------------------------


@router.get(f"{VERSION}/lineage")
def lineage(name: str, version: VersionParam, user: Reader, svc: Svc) -> wire.LineageOut:
    """The version's run, its parents, the datasets they used, and the versions it replaces."""
    return wire.LineageOut.of(lineages.lineage(svc.db, name, version))


@router.get("/trained-on")
def trained_on(
    user: Reader,
    svc: Svc,
    dataset: Annotated[str, Query(min_length=1, max_length=250)],
) -> wire.DatasetUseList:
    """Every model version whose run, or a run below it, used the dataset (name or digest)."""
    uses = lineages.trained_on(svc.db, dataset)
    return wire.DatasetUseList(uses=[wire.DatasetUseOut.of(u) for u in uses])
