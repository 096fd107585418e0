"""Opening the metadata database.

SQLite is tuned for several processes writing at once: WAL journal, a long busy timeout, and
``BEGIN IMMEDIATE`` for write transactions so that two writers queue on the lock instead of
one failing with "database is locked" when it tries to upgrade a read lock.

Writers of one SQLite file also queue on a lock of their own before ``BEGIN IMMEDIATE``: a
thread lock within the process and ``flock`` on ``<file>.writer`` across processes. Both
hand the turn over the moment a transaction ends, where SQLite's busy handler makes each
waiter sleep 1, 2, 5 … 100 ms between tries: with 16 clients on two workers, writers spent
most of their time asleep with the database free (run creation: 38 % of the server's busy
samples were in ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from modeldeck.core.errors import InvalidInput

BUSY_TIMEOUT_S = 120


class Database:
    """An engine plus the two ways services use it: a write transaction and a read."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _create_engine(url)
        self.dialect = self.engine.dialect.name
        database = self.engine.url.database if self.dialect == "sqlite" else None
        self._writers = WriterQueue(database) if database and database != ":memory:" else None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction; commits on success, rolls back on any exception."""
        queued = self._writers.turn() if self._writers is not None else nullcontext()
        with queued, _values_checked(), self.engine.begin() as conn:
            try:
                yield conn
            finally:  # the info dict outlives the transaction: it belongs to the pooled connection
                callbacks = conn.info.pop(_AFTER_COMMIT, None)
        for callback in callbacks or ():
            callback(self)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction (on PostgreSQL, ``BEGIN READ ONLY``: a write in it fails).

        It ends with a COMMIT, which costs what a ROLLBACK does; psycopg answers a ROLLBACK by
        dropping every statement the connection had prepared (``DEALLOCATE ALL``), so ending
        reads that way would have every request parse and plan its statements anew."""
        options = {"modeldeck_read": True, "postgresql_readonly": True}
        with _values_checked(), self.engine.connect().execution_options(**options) as conn:
            yield conn
            if conn.in_transaction():
                conn.commit()

    def dispose(self) -> None:
        self.engine.dispose()


_AFTER_COMMIT = "modeldeck_after_commit"


def after_commit(conn: Connection, callback: Callable[[Database], None]) -> None:
    """Run ``callback(database)`` once the write transaction of ``conn`` has committed (never
    when it rolls back); a callback registered twice in one transaction runs once."""
    pending: list[Callable[[Database], None]] = conn.info.setdefault(_AFTER_COMMIT, [])
    if callback not in pending:
        pending.append(callback)


class WriterQueue:
    """The turn to write one SQLite file: a thread lock, then ``flock`` on ``<file>.writer``
    (opened once per process: a descriptor inherited through fork shares its lock)."""

    def __init__(self, database: str) -> None:
        self.path = f"{database}.writer"
        self.lock = threading.RLock()  # re-entrant: a nested write fails as it did before
        self.fd: int | None = None
        self.pid = 0
        self.depth = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        import fcntl

        if not self.lock.acquire(timeout=BUSY_TIMEOUT_S):
            raise sa.exc.OperationalError("waiting to write", None, TimeoutError("writer lock"))
        try:
            if self.fd is None or self.pid != os.getpid():
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                self.pid = os.getpid()
            if self.depth == 0:
                fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if self.depth == 0:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.lock.release()


@contextmanager
def _values_checked() -> Iterator[None]:
    """A value the database cannot hold is the caller's error, whichever check missed it:
    PostgreSQL refuses NUL in text and numbers out of a column's range (DataError), sqlite3
    refuses integers past 64 bits (OverflowError)."""
    try:
        yield
    except sa.exc.DataError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "invalid value"
        raise InvalidInput(f"the database refused a value: {reason}") from exc
    except OverflowError as exc:
        if "SQLite" not in str(exc):
            raise
        raise InvalidInput(f"a number is out of the database's range: {exc}") from exc


def _create_engine(url: str) -> Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise InvalidInput(f"cannot parse database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        try:
            return sa.create_engine(parsed, pool_pre_ping=True, pool_size=20, max_overflow=20)
        except ModuleNotFoundError as exc:
            raise InvalidInput(
                f"{parsed.drivername} needs a PostgreSQL driver: pip install 'modeldeck[postgres]'"
            ) from exc
    raise InvalidInput(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite:///path or "
        "postgresql+psycopg://user@host/db"
    )


def _sqlite_engine(url: sa.URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        pool_size=4,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is fsynced, so what flush() acknowledged survives a power cut too.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA case_sensitive_like=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("modeldeck_read"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
