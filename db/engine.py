"""Engine construction, so every process opens the database the same way."""

import sqlite3
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

LOCK_TIMEOUT_MS = 15_000


def normalise_url(url: str) -> str:
    """Plain `postgresql://` URLs mean psycopg 3 here, the driver this project installs."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    """An engine that is safe to share between the worker's activity threads."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        _one_writer_at_a_time(engine)
        return engine
    # A lock wait or a transaction left open must end in an error (which the activity's
    # retry or the caller's 503 handles), never in a request or worker that hangs.
    options = f"-c lock_timeout={LOCK_TIMEOUT_MS} -c idle_in_transaction_session_timeout=60000"
    return create_engine(url, pool_pre_ping=True, connect_args={"options": options})


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets the API read while the worker writes; the busy timeout waits out a writer.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


SQLITE_WRITE_WAIT_S = 30  # as long as the busy timeout: then the write fails as "locked"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _one_writer_at_a_time(engine: Engine) -> None:
    """The engine's connections queue for SQLite's one writer in Python.

    SQLite lets one connection write at a time; the others poll, sleeping up to 100 ms
    between tries, so under steady writes one of them can miss its turn for seconds (20
    inspectors starting cases while the worker writes: the first row of a case waited 1.3 s
    at p95, 3.4 s at most). Here a connection takes the engine's lock at its first write and
    gives it back when its transaction ends, and the next writer goes on at once. Readers
    never wait (WAL); another process's writers still meet the busy timeout."""
    turn = threading.Lock()

    def before_write(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get("writing") or not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        if not turn.acquire(timeout=SQLITE_WRITE_WAIT_S):
            raise sqlite3.OperationalError("database is locked")
        conn.info["writing"] = True

    def done(info: dict[str, Any]) -> None:
        if info.pop("writing", False):
            turn.release()

    event.listen(engine, "before_cursor_execute", before_write)
    event.listen(engine, "commit", lambda conn: done(conn.info))
    event.listen(engine, "rollback", lambda conn: done(conn.info))
    # A connection handed back or dropped with its transaction open is rolled back by the pool.
    event.listen(engine.pool, "checkin", lambda _dbapi, record: done(record.info))
    event.listen(engine.pool, "invalidate", lambda _dbapi, record, _exc: done(record.info))
