"""The audit chain under concurrent writers: every committed record ends up in one unbroken
chain, and on PostgreSQL an audited write never waits for another writer's transaction."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from modeldeck.governance import auditing
from modeldeck.storage.db.engine import Database
from modeldeck.storage.db.migrate import upgrade
from modeldeck.storage.db.tables import audit_log
from modeldeck.storage.metadata import audit


@pytest.fixture
def db(backend_url: str) -> Database:
    database = Database(backend_url)
    upgrade(database)
    yield database
    database.dispose()


def note(db: Database, actor: str, i: int) -> None:
    with db.write() as conn:
        audit.append(conn, actor=actor, action="test.note", subject=f"runs:/{actor}", at=i)


def test_concurrent_audited_writes_form_one_unbroken_chain(db: Database) -> None:
    def writer(actor: str) -> None:
        for i in range(25):
            note(db, actor, i)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writer, [f"user{n}" for n in range(8)]))

    check = auditing.verify(db)
    assert check.ok and check.records == 200
    with db.read() as conn:
        positions = conn.execute(sa.select(audit_log.c.position)).scalars().all()
    assert sorted(positions) == list(range(1, 201))  # every record sealed, no gap, no twin
    assert len(auditing.log(db, action="test.note", limit=500)) == 200


def test_a_rolled_back_write_leaves_no_record(db: Database) -> None:
    note(db, "alice", 1)
    with pytest.raises(RuntimeError), db.write() as conn:
        audit.append(conn, actor="mallory", action="test.note", subject="runs:/x", at=2)
        raise RuntimeError("the change failed")
    note(db, "alice", 3)
    assert [r.actor for r in auditing.log(db, action="test.note")] == ["alice", "alice"]
    assert auditing.verify(db).ok


@pytest.mark.postgres
def test_postgres_audited_write_does_not_wait_for_another_open_transaction(
    empty_postgres_url: str,
) -> None:
    db = Database(empty_postgres_url)
    try:
        held = threading.Event()
        release = threading.Event()

        def slow_writer() -> None:
            with db.write() as conn:
                audit.append(conn, actor="slow", action="test.note", subject="runs:/s", at=1)
                held.set()
                release.wait(10)

        thread = threading.Thread(target=slow_writer)
        thread.start()
        assert held.wait(10)
        started = time.perf_counter()
        note(db, "quick", 2)  # used to wait here until the slow transaction committed
        waited = time.perf_counter() - started
        release.set()
        thread.join(10)
        assert waited < 2, f"an audited write waited {waited:.1f} s for another transaction"
        assert {r.actor for r in auditing.log(db, action="test.note")} == {"slow", "quick"}
        assert auditing.verify(db).ok
    finally:
        db.dispose()
