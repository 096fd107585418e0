"""Alembic revisions build exactly the tables the code declares, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from modeldeck.core.errors import StoreError
from modeldeck.storage.db.engine import Database
from modeldeck.storage.db.migrate import HEAD, MIGRATIONS, current_revision, ensure_current, upgrade
from modeldeck.storage.db.tables import metadata


def test_head_constant_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_migrated_schema_matches_the_tables(backend_url: str) -> None:
    db = Database(backend_url)
    ensure_current(db, auto_upgrade=True)  # the postgres fixture is already migrated
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    db.dispose()
    assert diff == []


def test_shared_store_is_never_migrated_implicitly(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'shared.db'}")
    with pytest.raises(StoreError, match="run `modeldeck db upgrade`"):
        ensure_current(db, auto_upgrade=False)
    upgrade(db)
    assert current_revision(db) == HEAD
    ensure_current(db, auto_upgrade=False)
    with db.engine.connect() as conn:
        assert "audit_log" in sa.inspect(conn).get_table_names()


@pytest.mark.postgres
def test_postgresql_keeps_key_value_statistics_for_search(postgres_url: str) -> None:
    """Without them the planner underestimates `params.x = 'v'` filters five-fold."""
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        names = set(conn.execute(sa.text("SELECT stxname FROM pg_statistic_ext")).scalars())
    engine.dispose()
    assert {"st_params_key_value", "st_tags_key_value", "st_latest_metrics_key_value"} <= names
