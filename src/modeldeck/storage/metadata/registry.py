"""Registered models, their versions, tags and aliases (with the history of every move)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.errors import NotFound
from modeldeck.core.registry import AliasEvent, ModelVersion, RegisteredModel
from modeldeck.storage.db.tables import (
    alias_events,
    aliases,
    model_tags,
    model_versions,
    registered_models,
    version_tags,
)
from modeldeck.storage.metadata.upsert import upsert

M, V = registered_models, model_versions


def model_row(conn: Connection, name: str, *, lock: bool = False) -> Any:
    """The row of a registered model; ``lock`` serialises writers on it (PostgreSQL)."""
    query = sa.select(M).where(M.c.name == name)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no registered model named {name!r}; `modeldeck models list` shows them")
    return row


def create_model(conn: Connection, values: Mapping[str, Any]) -> None:
    upsert(conn, M, [dict(values)], keys=("name",), update=())


def models(
    conn: Connection, name_like: str | None = None, limit: int = 1000
) -> list[RegisteredModel]:
    query = sa.select(M.c.name).order_by(M.c.name).limit(limit)
    if name_like:
        query = query.where(M.c.name.like(name_like))
    return [get_model(conn, name) for name in conn.execute(query).scalars()]


def get_model(conn: Connection, name: str) -> RegisteredModel:
    row = model_row(conn, name)
    tags = dict(
        conn.execute(
            sa.select(model_tags.c.key, model_tags.c.value).where(model_tags.c.model_id == row.id)
        ).all()
    )
    alias_map = dict(
        conn.execute(
            sa.select(aliases.c.alias, V.c.version)
            .join(V, V.c.id == aliases.c.version_id)
            .where(aliases.c.model_id == row.id)
        ).all()
    )
    latest = conn.execute(
        sa.select(sa.func.max(V.c.version)).where(V.c.model_id == row.id)
    ).scalar()
    return RegisteredModel(
        name=row.name,
        project=row.project,
        description=row.description,
        protected_aliases=tuple(row.protected_aliases),
        created_by=row.created_by,
        created_at=row.created_at,
        tags=tags,
        aliases=alias_map,
        latest_version=latest,
    )


def next_version(conn: Connection, model_id: int) -> int:
    latest = conn.execute(
        sa.select(sa.func.max(V.c.version)).where(V.c.model_id == model_id)
    ).scalar()
    return (latest or 0) + 1


def insert_version(conn: Connection, values: Mapping[str, Any]) -> int:
    result = conn.execute(sa.insert(V).values(**values).returning(V.c.id))
    return int(result.scalar_one())


def version_row(conn: Connection, name: str, version: int) -> Any:
    model = model_row(conn, name)
    row = conn.execute(sa.select(V).where(V.c.model_id == model.id, V.c.version == version)).first()
    if row is None:
        latest = next_version(conn, model.id) - 1
        have = f"versions 1 to {latest}" if latest else "no versions yet"
        raise NotFound(f"model {name!r} has no version {version} ({have})")
    return row


def get_version(conn: Connection, name: str, version: int) -> ModelVersion:
    return _versions(conn, name, [version_row(conn, name, version)])[0]


def versions(conn: Connection, name: str) -> list[ModelVersion]:
    model = model_row(conn, name)
    rows = conn.execute(sa.select(V).where(V.c.model_id == model.id).order_by(V.c.version)).all()
    return _versions(conn, name, rows)


def versions_by_id(conn: Connection, version_ids: Sequence[int]) -> list[ModelVersion]:
    rows = conn.execute(
        sa.select(V, M.c.name.label("model_name"))
        .join(M, M.c.id == V.c.model_id)
        .where(V.c.id.in_(list(version_ids)))
        .order_by(M.c.name, V.c.version)
    ).all()
    by_model: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_model[row.model_name].append(row)
    return [v for name, group in by_model.items() for v in _versions(conn, name, group)]


def versions_of_runs(conn: Connection, run_ids: Sequence[str]) -> list[ModelVersion]:
    ids = conn.execute(sa.select(V.c.id).where(V.c.run_id.in_(list(run_ids)))).scalars().all()
    return versions_by_id(conn, list(ids))


def set_description(conn: Connection, version_id: int, description: str) -> None:
    conn.execute(sa.update(V).where(V.c.id == version_id).values(description=description))


def set_version_tags(conn: Connection, version_id: int, tags: Mapping[str, str]) -> None:
    rows = [{"version_id": version_id, "key": k, "value": v} for k, v in tags.items()]
    upsert(conn, version_tags, rows, keys=("version_id", "key"), update=("value",))


def set_model_tags(conn: Connection, model_id: int, tags: Mapping[str, str]) -> None:
    rows = [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()]
    upsert(conn, model_tags, rows, keys=("model_id", "key"), update=("value",))


def alias_version(conn: Connection, model_id: int, alias: str) -> int | None:
    return conn.execute(
        sa.select(V.c.version)
        .join(aliases, aliases.c.version_id == V.c.id)
        .where(aliases.c.model_id == model_id, aliases.c.alias == alias)
    ).scalar()


def move_alias(
    conn: Connection,
    *,
    model_id: int,
    alias: str,
    version_id: int | None,
    version: int | None,
    previous: int | None,
    actor: str,
    at: int,
) -> None:
    """Point ``alias`` at a version (or remove it when ``version_id`` is None) and record it."""
    if version_id is None:
        conn.execute(
            sa.delete(aliases).where(aliases.c.model_id == model_id, aliases.c.alias == alias)
        )
    else:
        row = {
            "model_id": model_id,
            "alias": alias,
            "version_id": version_id,
            "set_by": actor,
            "set_at": at,
        }
        upsert(
            conn,
            aliases,
            [row],
            keys=("model_id", "alias"),
            update=("version_id", "set_by", "set_at"),
        )
    conn.execute(
        sa.insert(alias_events).values(
            model_id=model_id,
            alias=alias,
            version=version,
            previous_version=previous,
            actor=actor,
            at=at,
        )
    )


def alias_history(conn: Connection, name: str, alias: str | None = None) -> list[AliasEvent]:
    model = model_row(conn, name)
    query = sa.select(alias_events).where(alias_events.c.model_id == model.id)
    if alias is not None:
        query = query.where(alias_events.c.alias == alias)
    rows = conn.execute(query.order_by(alias_events.c.at, alias_events.c.id)).all()
    return [AliasEvent(name, r.alias, r.version, r.previous_version, r.actor, r.at) for r in rows]


def alias_at(conn: Connection, name: str, alias: str, at: int) -> int | None:
    """The version ``alias`` pointed at, at time ``at`` (ms): one indexed query."""
    model = model_row(conn, name)
    return conn.execute(
        sa.select(alias_events.c.version)
        .where(
            alias_events.c.model_id == model.id,
            alias_events.c.alias == alias,
            alias_events.c.at <= at,
        )
        .order_by(alias_events.c.at.desc(), alias_events.c.id.desc())
        .limit(1)
    ).scalar()


def _versions(conn: Connection, name: str, rows: Sequence[Any]) -> list[ModelVersion]:
    ids = [r.id for r in rows]
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    for vid, key, value in conn.execute(
        sa.select(version_tags.c.version_id, version_tags.c.key, version_tags.c.value).where(
            version_tags.c.version_id.in_(ids)
        )
    ):
        tags[vid][key] = value
    names: dict[int, list[str]] = defaultdict(list)
    for vid, alias in conn.execute(
        sa.select(aliases.c.version_id, aliases.c.alias)
        .where(aliases.c.version_id.in_(ids))
        .order_by(aliases.c.alias)
    ):
        names[vid].append(alias)
    return [
        ModelVersion(
            name=name,
            version=r.version,
            package_digest=r.package_digest,
            created_by=r.created_by,
            created_at=r.created_at,
            run_id=r.run_id,
            artifact_path=r.artifact_path,
            flavor=r.flavor,
            signature=r.signature,
            description=r.description,
            replaces_version=r.replaces_version,
            tags=tags.get(r.id, {}),
            aliases=tuple(names.get(r.id, ())),
        )
        for r in rows
    ]
