"""Engine construction, so every process opens the database the same way."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

from db.sqlite_turns import TakingTurns, hand_on_at_reset

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
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30, "factory": TakingTurns}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine.pool, "reset", hand_on_at_reset)
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
