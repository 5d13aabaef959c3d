"""The embedded SQLite file: every connection of the process queues for the file's one writer
(the API's engine and the worker's alike), and a turn is handed on however its transaction
ends: commit, rollback, a connection dropped mid-way, or an exception raised in the writer's
thread just after it took the turn (Temporal's way of cancelling a thread's activity)."""

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from db import sqlite_turns
from db.engine import make_engine

DEADLOCK_S = 10  # far beyond any write here: a writer waiting this long never got its turn


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "writers.db"


@pytest.fixture
def sqlite(path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE entries (id INTEGER PRIMARY KEY, writer INTEGER)"))
    yield engine
    engine.dispose()


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM entries")).scalar_one())


def _insert(engine: Engine, entry: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO entries (id, writer) VALUES (:id, 1)"), {"id": entry})


def _insert_elsewhere(engine: Engine, entry: int) -> None:
    """A write from another thread, which must wait if the turn was never handed on."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_insert, engine, entry).result(timeout=DEADLOCK_S)


def test_many_threads_of_two_engines_writing_at_once_all_get_their_turn(
    sqlite: Engine, path: Path
) -> None:
    other = make_engine(f"sqlite:///{path}")  # as the API's engine beside the worker's

    def write(writer: int) -> None:
        engine = other if writer % 2 else sqlite
        for n in range(25):
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO entries (id, writer) VALUES (:id, :writer)"),
                    {"id": writer * 100 + n, "writer": writer},
                )
                conn.execute(text("SELECT count(*) FROM entries")).scalar_one()

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(write, range(20)))
    assert _count(sqlite) == 500
    other.dispose()


def test_a_writer_of_another_engine_waits_in_the_queue_not_in_sqlite(
    sqlite: Engine, path: Path
) -> None:
    other = make_engine(f"sqlite:///{path}")
    queue = sqlite_turns.writer_queue(str(path))
    assert queue is not None
    with sqlite.connect() as writer:
        writer.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
        with ThreadPoolExecutor(max_workers=1) as pool:
            waiting = pool.submit(_insert, other, 2)
            for _ in range(DEADLOCK_S * 100):
                if len(queue) == 2 or waiting.done():
                    break
                threading.Event().wait(0.01)
            assert len(queue) == 2, "the second writer should wait in the queue"
            assert not waiting.done()
            writer.commit()  # hands the turn on
            waiting.result(timeout=DEADLOCK_S)
    assert len(queue) == 0
    assert _count(sqlite) == 2
    other.dispose()


def test_a_failed_write_hands_the_turn_on(sqlite: Engine) -> None:
    _insert(sqlite, 1)
    with pytest.raises(IntegrityError), sqlite.begin() as conn:
        conn.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
    with sqlite.connect():  # keeps the last writer's connection out of the next write
        _insert_elsewhere(sqlite, 2)
    assert _count(sqlite) == 2


def test_a_connection_dropped_mid_write_hands_the_turn_on(sqlite: Engine) -> None:
    conn = sqlite.connect()
    conn.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
    conn.close()  # neither committed nor rolled back: the pool rolls it back
    with sqlite.connect():
        _insert_elsewhere(sqlite, 2)
    assert _count(sqlite) == 1


def test_a_connection_invalidated_mid_write_hands_the_turn_on(sqlite: Engine) -> None:
    conn = sqlite.connect()
    conn.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
    conn.invalidate()  # the pool closes it
    conn.close()
    _insert_elsewhere(sqlite, 2)
    assert _count(sqlite) == 1


def test_a_thread_cancelled_just_after_taking_the_turn_hands_it_on(
    sqlite: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exception Temporal raises in a cancelled activity's thread can land anywhere;
    here right after the turn was taken, before the statement ran."""
    take = sqlite_turns.WriterQueue.take

    def take_then_cancelled(queue: sqlite_turns.WriterQueue, connection: object) -> None:
        take(queue, connection)  # type: ignore[arg-type]
        raise asyncio.CancelledError

    monkeypatch.setattr(sqlite_turns.WriterQueue, "take", take_then_cancelled)
    with pytest.raises(asyncio.CancelledError):
        _insert(sqlite, 1)
    monkeypatch.undo()
    with sqlite.connect():
        _insert_elsewhere(sqlite, 2)
    assert _count(sqlite) == 1


def test_a_turn_left_behind_is_dropped_after_a_whole_wait(
    sqlite: Engine, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a turn never be handed on (a connection that left the queue some way this
    module does not see), the next writer waits one busy timeout, as SQLite would, and then
    writes instead of failing for good."""
    monkeypatch.setattr(sqlite_turns, "WAIT_S", 0.2)
    queue = sqlite_turns.writer_queue(str(path))
    assert queue is not None
    with sqlite.connect() as holder:
        left_behind = holder.connection.dbapi_connection
        queue.take(left_behind)  # type: ignore[arg-type]
        _insert_elsewhere(sqlite, 1)
        _insert_elsewhere(sqlite, 2)
    assert _count(sqlite) == 2


def test_a_reader_does_not_wait_for_a_writer(sqlite: Engine) -> None:
    with sqlite.connect() as writer:
        writer.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(_count, sqlite).result(timeout=DEADLOCK_S) == 0  # WAL
        writer.commit()
    assert _count(sqlite) == 1
