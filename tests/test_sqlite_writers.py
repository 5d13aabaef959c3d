"""The embedded SQLite file: every connection of the process queues for the file's one writer
(the API's engine and the worker's alike), and a turn is handed on however its transaction
ends: commit, rollback, a connection dropped mid-way, or an exception raised in the writer's
thread just after it took the turn (Temporal's way of cancelling a thread's activity)."""

import gc
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session
from temporalio.exceptions import CancelledError

from db import sqlite_turns
from db.engine import make_engine

DEADLOCK_S = 10  # far beyond any write here: a writer waiting this long never got its turn


@pytest.fixture(autouse=True)
def no_safety_net(monkeypatch: pytest.MonkeyPatch) -> None:
    """A turn left behind is dropped after this long: far beyond each test's wait, so only
    the hand-on a test names can let the next writer in."""
    monkeypatch.setattr(sqlite_turns, "LEFT_BEHIND_S", 600)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "writers.db"


@pytest.fixture
def queue(path: Path) -> sqlite_turns.WriterQueue:
    """The queue every connection of this process to the test's file joins."""
    found = sqlite_turns.writer_queue(str(path))
    assert found is not None
    return found


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


class Elsewhere:
    """A call on a thread of its own, which a test that fails leaves behind instead of
    hanging on it (a daemon thread)."""

    def __init__(self, call: Callable[..., Any], *args: Any) -> None:
        self.outcome: list[Any] = []
        self.thread = threading.Thread(target=self._run, args=(call, *args), daemon=True)
        self.thread.start()

    def _run(self, call: Callable[..., Any], *args: Any) -> None:
        try:
            self.outcome.append(call(*args))
        except BaseException as error:  # handed to the test
            self.outcome.append(error)

    def done(self) -> bool:
        return not self.thread.is_alive()

    def result(self) -> Any:
        self.thread.join(DEADLOCK_S)
        assert self.done(), f"still waiting after {DEADLOCK_S} s: it never got its turn"
        if isinstance(self.outcome[0], BaseException):
            raise self.outcome[0]
        return self.outcome[0]


def _until_queued(queue: sqlite_turns.WriterQueue, turns: int, waiting: Elsewhere) -> None:
    for _ in range(DEADLOCK_S * 100):
        if len(queue) == turns or waiting.done():
            break
        threading.Event().wait(0.01)
    assert len(queue) == turns, "the second writer should wait in the queue, not in SQLite"
    assert not waiting.done()


def _insert_elsewhere(engine: Engine, entry: int) -> None:
    """A write from another thread, which must wait if the turn was never handed on."""
    Elsewhere(_insert, engine, entry).result()


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
    sqlite: Engine, path: Path, queue: sqlite_turns.WriterQueue
) -> None:
    other = make_engine(f"sqlite:///{path}")
    with sqlite.connect() as writer:
        writer.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
        waiting = Elsewhere(_insert, other, 2)
        _until_queued(queue, 2, waiting)
        writer.commit()  # hands the turn on
        waiting.result()
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
        raise CancelledError("cancelled")

    monkeypatch.setattr(sqlite_turns.WriterQueue, "take", take_then_cancelled)
    with pytest.raises(CancelledError):
        _insert(sqlite, 1)
    monkeypatch.undo()
    with sqlite.connect():
        _insert_elsewhere(sqlite, 2)
    assert _count(sqlite) == 1


def _cancel_once_after_sqlite_committed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Temporal's exception lands in `commit` after SQLite committed, before the hand-on."""
    armed = [True]
    commit = sqlite_turns.TakingTurns.commit

    def cancelled(connection: sqlite_turns.TakingTurns) -> None:
        if not armed[0]:
            return commit(connection)
        armed[0] = False
        sqlite3.Connection.commit(connection)
        raise CancelledError("cancelled")

    monkeypatch.setattr(sqlite_turns.TakingTurns, "commit", cancelled)


def _insert_in_a_session(engine: Engine, entry: int) -> None:
    """As the project writes: a Session that commits (after a commit that raised, the pool
    takes the connection back without a rollback)."""
    with Session(engine) as session:
        session.execute(text("INSERT INTO entries (id, writer) VALUES (:id, 1)"), {"id": entry})
        session.commit()


def test_a_session_whose_commit_was_cancelled_hands_the_turn_on_to_others(
    sqlite: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cancel_once_after_sqlite_committed(monkeypatch)
    with pytest.raises(CancelledError):
        _insert_in_a_session(sqlite, 1)
    with sqlite.connect():  # another connection writes next
        Elsewhere(_insert_in_a_session, sqlite, 2).result()
    assert _count(sqlite) == 2


def test_a_connection_does_not_wait_for_a_turn_it_left_behind(
    sqlite: Engine, queue: sqlite_turns.WriterQueue
) -> None:
    with sqlite.connect() as conn:
        own = conn.connection.dbapi_connection
        queue.take(own)  # type: ignore[arg-type]  # as if an exception kept it from handing on
        Elsewhere(conn.execute, text("INSERT INTO entries VALUES (1, 0)")).result()
        conn.commit()
    assert _count(sqlite) == 1


def test_a_waiter_whose_wake_up_was_lost_looks_again(
    sqlite: Engine, queue: sqlite_turns.WriterQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_turns.WriterQueue, "_wake_front", lambda _queue: None)
    with sqlite.connect() as writer:
        writer.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
        waiting = Elsewhere(_insert, sqlite, 2)
        _until_queued(queue, 2, waiting)
        writer.commit()  # its wake-up is lost
        waiting.result()
    assert _count(sqlite) == 2


def test_a_turn_left_behind_is_dropped_by_the_writers_behind_it(
    sqlite: Engine, queue: sqlite_turns.WriterQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a turn never be handed on (its connection stays checked out and idle), the
    writers behind it, those waiting already and those that keep arriving, drop it once
    they have seen it idle a while, and all write."""
    monkeypatch.setattr(sqlite_turns, "LEFT_BEHIND_S", 0.3)
    monkeypatch.setattr(sqlite_turns, "LOOK_AGAIN_S", 0.05)
    with sqlite.connect() as holder:
        queue.take(holder.connection.dbapi_connection)  # type: ignore[arg-type]
        writers = []
        for entry in range(1, 9):
            writers.append(Elsewhere(_insert, sqlite, entry))
            threading.Event().wait(0.1)
        for writer in writers:
            writer.result()
    assert _count(sqlite) == 8


def test_a_writer_with_its_transaction_open_keeps_its_turn(
    sqlite: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long write is not taken for a turn left behind: the writer behind it gives up as
    SQLite would ("locked"), and the long write commits."""
    monkeypatch.setattr(sqlite_turns, "WAIT_S", 0.5)
    monkeypatch.setattr(sqlite_turns, "LEFT_BEHIND_S", 0.1)
    monkeypatch.setattr(sqlite_turns, "LOOK_AGAIN_S", 0.05)
    with sqlite.connect() as writer:
        writer.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
        with pytest.raises(OperationalError, match="database is locked"):
            _insert_elsewhere(sqlite, 2)
        writer.commit()
    assert _count(sqlite) == 1


def test_writers_take_their_turns_in_the_order_they_came(
    sqlite: Engine, queue: sqlite_turns.WriterQueue
) -> None:
    order: list[int] = []

    def write(entry: int) -> None:
        with sqlite.begin() as conn:
            conn.execute(text("INSERT INTO entries (id, writer) VALUES (:id, 1)"), {"id": entry})
            order.append(entry)

    with sqlite.connect() as writer:
        writer.execute(text("INSERT INTO entries (id, writer) VALUES (0, 0)"))
        waiting = []
        for entry in (1, 2, 3):
            waiting.append(Elsewhere(write, entry))
            _until_queued(queue, entry + 1, waiting[-1])
        writer.commit()
    for each in waiting:
        each.result()
    assert order == [1, 2, 3]


def test_a_connection_that_rolled_back_and_stays_out_hands_the_turn_on(sqlite: Engine) -> None:
    with sqlite.connect() as conn:
        conn.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
        conn.rollback()
        _insert_elsewhere(sqlite, 2)
    assert _count(sqlite) == 1


def test_the_queue_is_copied_where_no_collection_can_change_it() -> None:
    """A collection may run when a copy allocates, and a connection nobody closed is rolled
    back by it, which hands its turn on: the queue then changes under the copy."""

    class Idle:
        in_transaction = False

    class Abandoned:
        def __init__(self, queue: sqlite_turns.WriterQueue, connection: Idle) -> None:
            self.queue, self.connection, self.cycle = queue, connection, self

        def __del__(self) -> None:
            self.queue.hand_on(self.connection)  # type: ignore[arg-type]

    thresholds = gc.get_threshold()
    try:
        for attempt in range(300):
            queue = sqlite_turns.WriterQueue()
            others = [Idle() for _ in range(25)]
            for other in others:  # queued behind one another, as waiting writers are
                queue._turns.append(sqlite_turns._Turn(other))  # type: ignore[arg-type]
            gc.disable()
            gc.collect(0)
            Abandoned(queue, others[-1])
            gc.set_threshold(attempt % 7 + 1)
            gc.enable()
            queue.hand_on(Idle())  # type: ignore[arg-type]
            gc.collect(0)
            assert len(queue) == 24
    finally:
        gc.set_threshold(*thresholds)
        gc.enable()


def test_a_reader_does_not_wait_for_a_writer(sqlite: Engine) -> None:
    with sqlite.connect() as writer:
        writer.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
        assert Elsewhere(_count, sqlite).result() == 0  # WAL
        writer.commit()
    assert _count(sqlite) == 1
