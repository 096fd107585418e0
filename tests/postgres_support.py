"""A PostgreSQL database of its own for a test session, or a clear skip where none answers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_ADMIN_URL = os.environ.get(
    "MODELDECK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def postgres_unreachable() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'modeldeck[postgres]')"
    import sqlalchemy as sa

    dsn = sa.make_url(PG_ADMIN_URL).set(drivername="postgresql")
    try:
        psycopg.connect(dsn.render_as_string(hide_password=False), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"no PostgreSQL server at {PG_ADMIN_URL}: {str(exc).strip().splitlines()[0]}"
    return None


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty database (its URL), dropped afterwards; skips (or fails, when
    MODELDECK_REQUIRE_POSTGRES is set) where no server answers."""
    reason = postgres_unreachable()
    if reason:
        if os.environ.get("MODELDECK_REQUIRE_POSTGRES"):
            pytest.fail(f"MODELDECK_REQUIRE_POSTGRES is set but {reason}")
        pytest.skip(reason)
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
