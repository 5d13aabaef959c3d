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
the turn, after the lock is let go. The pool hands on, too, whatever a connection it takes
back still holds (`hand_on_at_reset`). Only cursors take turns, and only at a statement
that begins with INSERT, UPDATE, DELETE or REPLACE; anything else that writes (`execute` on
the connection itself, `executescript`, `with connection:`, `WITH ... INSERT`, a SAVEPOINT)
goes around the queue to SQLite's own lock. SQLAlchemy, as this project uses it, does none
of those.

Temporal cancels a thread's activity by raising an exception in it at any point, so no state
here may be left half-changed by one. A turn is an entry in a deque, put there and taken out
by single atomic calls; the queue is read only through atomic copies. Whatever an exception
skips costs a wait, never the queue: a connection's next write drops a turn it left behind,
a waiter looks again every second in case its wake-up was lost, and a waiter drops the turn
in front once it has seen it idle (no transaction open) for `LEFT_BEHIND_S`: a writer in
front opens its transaction at once. Dropping a live turn by mistake costs order only:
SQLite still lets one writer in at a time.
"""

import os
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

WAIT_S = 30.0  # as long as SQLite's busy timeout, and it ends the same way: "locked"
LOOK_AGAIN_S = 1.0  # a waiter whose wake-up an exception swallowed waits no longer than this
LEFT_BEHIND_S = 2.0  # a turn in front this long with no transaction open writes no more


class _Turn:
    """One connection's place in the queue. No `__eq__`: the deque finds turns by identity,
    in C, which no other thread can interleave."""

    __slots__ = ("connection", "gate", "idle_since")

    def __init__(self, connection: sqlite3.Connection) -> None:
        # Weak: a connection dropped without being closed is collected, and its turn dropped.
        self.connection = weakref.ref(connection)
        self.gate = threading.Lock()
        self.gate.acquire()  # released when this turn comes to the front
        self.idle_since: float | None = None

    def left_behind(self) -> bool:
        """Seen in front with no transaction open for `LEFT_BEHIND_S` (by the waiters'
        looks), or its connection is closed or gone."""
        connection = self.connection()
        if connection is None:
            return True
        try:
            writing = connection.in_transaction
        except sqlite3.ProgrammingError:
            return True  # closed
        now = time.monotonic()
        if writing or self.idle_since is None:
            self.idle_since = None if writing else now
            return False
        return now - self.idle_since >= LEFT_BEHIND_S


class WriterQueue:
    """The connections of this process waiting to write one database file, first come first
    served; the one in front writes."""

    def __init__(self) -> None:
        self._turns: deque[_Turn] = deque()

    def __len__(self) -> int:
        return len(self._turns)

    def take(self, connection: sqlite3.Connection) -> None:
        """Wait until `connection` is in front. Raises "database is locked", as SQLite would,
        after waiting `WAIT_S` behind writers that hold their transactions open."""
        self.hand_on(connection)  # about to open a transaction: any turn it holds is stale
        turn = _Turn(connection)
        self._turns.append(turn)
        try:
            deadline = time.monotonic() + WAIT_S
            while not self._in_front(turn):
                if turn not in self._turns:  # dropped as left behind while it was woken
                    self._turns.append(turn)
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise sqlite3.OperationalError("database is locked")
                turn.gate.acquire(timeout=min(remaining, LOOK_AGAIN_S))
                self._drop_front_if_left_behind(turn)
        except BaseException:
            self._remove(turn)
            raise

    def hand_on(self, connection: sqlite3.Connection) -> None:
        """Take `connection`'s turns out of the queue, and wake whoever is then in front."""
        for turn in self._turns.copy():  # atomic: no allocation a collection could run in
            if turn.connection() is connection:
                self._remove(turn)

    def _remove(self, turn: _Turn) -> None:
        try:
            self._turns.remove(turn)
        except ValueError:
            return  # taken out already
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

    def _drop_front_if_left_behind(self, me: _Turn) -> None:
        try:
            front = self._turns[0]
        except IndexError:
            return
        if front is not me and front.left_behind():
            self._remove(front)


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
        opens = statement.lstrip()[:7].upper().startswith(_OPENS_A_TRANSACTION)
        if self.queue is None or self.in_transaction or not opens:
            yield
            return
        try:
            self.queue.take(self)
            yield
        finally:
            self.hand_on_if_idle()

    def hand_on_if_idle(self) -> None:
        """Hand on any turn this connection holds, unless its transaction is still open."""
        if self.queue is not None and not self.in_transaction:
            self.queue.hand_on(self)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.hand_on_if_idle()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.hand_on_if_idle()

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


def hand_on_at_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
    """The pool takes a connection back: a turn it still holds with no transaction open is
    handed on. The pool skips its rollback after a commit that raised, so this hands on a
    turn an exception kept `commit` from handing on."""
    if isinstance(dbapi_connection, TakingTurns):
        dbapi_connection.hand_on_if_idle()
