"""Compiling the filter grammar (``modeldeck.core.filters``) to SQL over the runs table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.filters import And, Comparison, Expr, Key, Or, OrderBy
from modeldeck.storage.db.tables import datasets, latest_metrics, params, run_inputs, runs, tags
from modeldeck.storage.metadata import experiments as experiment_rows

_TABLES = {"metric": latest_metrics, "param": params, "tag": tags}

ATTRIBUTES: dict[str, Any] = {
    "run_id": runs.c.id,
    "run_name": runs.c.name,
    "status": runs.c.status,
    "user": runs.c.user,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
    "experiment_id": runs.c.experiment_id,
    "parent_id": runs.c.parent_id,
    "git_commit": runs.c.git_commit,
}


def search_ids(
    conn: Connection,
    experiment_ids: Sequence[int],
    where: Expr | None,
    order_by: Sequence[OrderBy],
    limit: int,
    offset: int = 0,
) -> list[str]:
    """Ids of matching runs, best first.

    Comparisons ANDed at the top of the filter on metrics, params or tags become inner joins
    (each (run, key) has one row, so a join never repeats a run); the planner can then start
    from the most selective index, e.g. ``latest_metrics(key, value)``. Everything else is an
    EXISTS test. An order key already joined by the filter reuses that join.
    """
    query = sa.select(runs.c.id).where(runs.c.experiment_id.in_(list(experiment_ids)))
    items = () if where is None else where.items if isinstance(where, And) else (where,)
    joined: dict[Key, Any] = {}
    for index, item in enumerate(items):
        if isinstance(item, Comparison) and _joinable(item):
            table = _TABLES[item.key.kind]
            alias = table.alias(f"filter_{index}")
            on = [alias.c.run_id == runs.c.id, alias.c.key == item.key.name]
            if item.key.kind == "metric":
                on.append(alias.c.is_nan.is_(False))
            query = query.join(alias, sa.and_(*on, _apply(alias.c.value, item)))
            joined.setdefault(item.key, alias.c.value)
        else:
            query = query.where(_compile(item))
    for index, order in enumerate(order_by):
        column = joined.get(order.key)
        if column is None:
            query, column = _order_column(query, order.key, index)
            query = query.order_by(column.is_(None))
        query = query.order_by(column.desc() if order.descending else column.asc())
    query = query.order_by(runs.c.start_time.desc(), runs.c.id).limit(limit).offset(offset)
    return list(conn.execute(query).scalars())


def _joinable(c: Comparison) -> bool:
    if c.key.kind not in _TABLES or c.op in ("IS NULL", "IS NOT NULL"):
        return False
    return not (isinstance(c.value, float) and math.isnan(c.value))


def _compile(expr: Expr) -> Any:
    if isinstance(expr, And):
        return sa.and_(*(_compile(e) for e in expr.items))
    if isinstance(expr, Or):
        return sa.or_(*(_compile(e) for e in expr.items))
    return _comparison(expr)


def _comparison(c: Comparison) -> Any:
    kind = c.key.kind
    if kind == "attribute":
        column = ATTRIBUTES[c.key.name]
        if c.key.name == "experiment_id":
            value = c.value
            c = Comparison(c.key, c.op, _as_ints(value))
        return _apply(column, c)
    if kind == "metric":
        table = latest_metrics
        if c.op in ("IS NULL", "IS NOT NULL"):
            test: Any = sa.true()
        elif isinstance(c.value, float) and math.isnan(c.value):
            test = table.c.is_nan.is_(True) if c.op == "=" else table.c.is_nan.is_(False)
        else:
            test = sa.and_(table.c.is_nan.is_(False), _apply(table.c.value, c))
        return _exists(table, c, test)
    if kind in ("param", "tag"):
        table = params if kind == "param" else tags
        test = sa.true() if c.op in ("IS NULL", "IS NOT NULL") else _apply(table.c.value, c)
        return _exists(table, c, test)
    # datasets.name / datasets.digest / datasets.context
    column = run_inputs.c.context if c.key.name == "context" else datasets.c[c.key.name]
    subquery = (
        sa.select(run_inputs.c.run_id)
        .join(datasets, datasets.c.id == run_inputs.c.dataset_id)
        .where(run_inputs.c.run_id == runs.c.id)
    )
    if c.op == "IS NULL":
        return ~subquery.exists()
    if c.op == "IS NOT NULL":
        return subquery.exists()
    return subquery.where(_apply(column, c)).exists()


def _exists(table: sa.Table, c: Comparison, test: Any) -> Any:
    sub = sa.select(table.c.run_id).where(
        table.c.run_id == runs.c.id, table.c.key == c.key.name, test
    )
    return ~sub.exists() if c.op == "IS NULL" else sub.exists()


def _apply(column: Any, c: Comparison) -> Any:
    op, value = c.op, c.value
    if op == "IS NULL":
        return column.is_(None)
    if op == "IS NOT NULL":
        return column.is_not(None)
    if op == "IN":
        return column.in_(list(value))  # type: ignore[arg-type]
    if op == "NOT IN":
        return column.not_in(list(value))  # type: ignore[arg-type]
    if op == "LIKE":
        return column.like(value)
    if op == "ILIKE":
        return column.ilike(value)
    return {
        "=": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }[op](value)


def _as_ints(value: Any) -> Any:
    """Experiment ids as the filter spells them; -1 (no experiment) for text that is none."""
    if isinstance(value, tuple):
        return tuple(_as_int(v) for v in value)
    if value is None:
        return None
    return _as_int(value)


def _as_int(value: Any) -> int:
    found = experiment_rows.as_id(str(value))
    return -1 if found is None else found


def _order_column(query: Any, key: Key, index: int) -> tuple[Any, Any]:
    if key.kind == "attribute":
        return query, ATTRIBUTES[key.name]
    alias = _TABLES[key.kind].alias(f"order_{index}")
    on = sa.and_(alias.c.run_id == runs.c.id, alias.c.key == key.name)
    if key.kind == "metric":
        on = sa.and_(on, alias.c.is_nan.is_(False))
    return query.outerjoin(alias, on), alias.c.value
