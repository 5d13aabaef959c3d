"""SQLite's one writer, handed from connection to connection in a queue instead of polled.

SQLite lets one connection write at a time. The others poll through the busy handler,
sleeping up to 100 ms between tries, so under a busy worker a short write can lose the race
again and again: the first row of a case started over HTTP waited 1.3 s at p95 and 3.4 s at
most while 20 inspectors started cases. Here every connection of the process to one database
file (the API's engine and the worker's alike: `dev` runs both in one process) queues for the
file in arrival order, and a writer that ends its transaction wakes the next one at once.
Readers never queue (WAL lets them read the last commit); another process's writers still
meet SQLite's busy timeout.

The queue lives in the connections themselves (a `sqlite3.Connection` subclass), not in
SQLAlchemy's events: SQLite's write lock is taken by the statement that opens a transaction
and let go by commit, rollback or close, and those are the very calls that take and hand on
the turn, after the lock is let go. Temporal cancels a thread's activity by raising an
exception in it at any point: a turn is an entry in the queue, put there by one atomic
append, and taken out by the connection's next commit, rollback or close, which the pool
always makes (it rolls back every connection it takes back). A turn no connection will ever
hand on (its transaction ended without one of those calls) is dropped by the writer that
waited a whole busy timeout for it.
"""

import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

WAIT_S = 30.0  # as long as SQLite's busy timeout, and it ends the same way: "locked"


class _Turn:
    __slots__ = ("connection", "gate")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.gate = threading.Lock()
        self.gate.acquire()  # released by the writer before, when this turn comes


class WriterQueue:
    """The connections of this process waiting to write one database file, first come first
    served; the one in front writes."""

    def __init__(self) -> None:
        self._turns: deque[_Turn] = deque()

    def __len__(self) -> int:
        return len(self._turns)

    def take(self, connection: sqlite3.Connection) -> None:
        """Wait until `connection` is in front. Raises "database is locked" after `WAIT_S`,
        as SQLite would, unless the turn in front was left behind (see `_dropped_stale`)."""
        turn = _Turn(connection)
        self._turns.append(turn)  # from here on, `hand_on(connection)` undoes it
        while not self._in_front(turn) and not turn.gate.acquire(timeout=WAIT_S):
            if not self._dropped_stale():
                self.hand_on(connection)
                raise sqlite3.OperationalError("database is locked")

    def hand_on(self, connection: sqlite3.Connection) -> None:
        """Take `connection` out of the queue wherever it is, and wake whoever is in front."""
        for turn in [t for t in self._turns if t.connection is connection]:
            try:
                self._turns.remove(turn)
            except ValueError:
                continue  # taken out by a writer that dropped it as stale
        self._wake_front()

    def _in_front(self, turn: _Turn) -> bool:
        try:
            return self._turns[0] is turn
        except IndexError:
            return False

    def _wake_front(self) -> None:
        try:
            front = self._turns[0]
        except IndexError:
            return
        with suppress(RuntimeError):  # woken already
            front.gate.release()

    def _dropped_stale(self) -> bool:
        """After a whole wait, drop the turn in front if its connection holds no transaction:
        it cannot be writing, so its turn was left behind."""
        try:
            front = self._turns[0]
        except IndexError:
            return True
        try:
            if front.connection.in_transaction:
                return False
        except sqlite3.ProgrammingError:
            pass  # closed: it writes no more (dropping a live turn is safe: SQLite still locks)
        self.hand_on(front.connection)
        return True


_QUEUES: dict[str, WriterQueue] = {}
_OPENS_A_TRANSACTION = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def writer_queue(database: str) -> WriterQueue | None:
    """The queue of a database file (None for an in-memory database: nobody shares it)."""
    if database in ("", ":memory:") or "mode=memory" in database:
        return None
    key = database if database.startswith("file:") else os.path.realpath(database)
    return _QUEUES.setdefault(key, WriterQueue())


class TakingTurns(sqlite3.Connection):
    """A connection that queues for the file's writer at the statement that opens a write
    transaction (Python's sqlite3 opens one before INSERT, UPDATE, DELETE and REPLACE) and
    hands the turn on once the transaction has ended."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self.queue = writer_queue(str(database))

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or _TurnCursor)

    @contextmanager
    def turn_for(self, statement: str) -> Iterator[None]:
        """Queue first if `statement` opens a write transaction. If it took a turn but left
        no transaction open (it failed before SQLite began one), hand the turn on at once."""
        if self.queue is None or self.in_transaction:
            yield
            return
        if not statement.lstrip()[:7].upper().startswith(_OPENS_A_TRANSACTION):
            yield
            return
        self.queue.take(self)
        try:
            yield
        finally:
            self.after()

    def after(self) -> None:
        if self.queue is not None and not self.in_transaction:
            self.queue.hand_on(self)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.after()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.after()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.queue is not None:
                self.queue.hand_on(self)


class _TurnCursor(sqlite3.Cursor):
    connection: TakingTurns

    def execute(self, sql: str, parameters: Any = (), /) -> "_TurnCursor":
        with self.connection.turn_for(sql):
            super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> "_TurnCursor":
        with self.connection.turn_for(sql):
            super().executemany(sql, seq_of_parameters)
        return self
