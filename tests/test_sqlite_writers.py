"""The embedded SQLite file: the engine's writers take turns in Python, and a transaction that
ends in any way (commit, rollback, a connection dropped mid-way) hands the turn on."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from db import engine as engines


@pytest.fixture
def sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    # A turn never handed back would make the next writer fail after this long.
    monkeypatch.setattr(engines, "SQLITE_WRITE_WAIT_S", 2)
    engine = engines.make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE entries (id INTEGER PRIMARY KEY, writer INTEGER)"))
    return engine


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM entries")).scalar_one())


def test_many_threads_writing_at_once_all_get_their_turn(sqlite: Engine) -> None:
    def write(writer: int) -> None:
        for n in range(25):
            with sqlite.begin() as conn:
                conn.execute(
                    text("INSERT INTO entries (id, writer) VALUES (:id, :writer)"),
                    {"id": writer * 100 + n, "writer": writer},
                )
                conn.execute(text("SELECT count(*) FROM entries")).scalar_one()

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(write, range(20)))
    assert _count(sqlite) == 500


def test_a_failed_write_hands_the_turn_on(sqlite: Engine) -> None:
    with sqlite.begin() as conn:
        conn.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
    with pytest.raises(IntegrityError), sqlite.begin() as conn:
        conn.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
    _insert_on_another_connection(sqlite, 2)
    assert _count(sqlite) == 2


def test_a_connection_dropped_mid_write_hands_the_turn_on(sqlite: Engine) -> None:
    conn = sqlite.connect()
    conn.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
    conn.close()  # neither committed nor rolled back: the pool rolls it back
    _insert_on_another_connection(sqlite, 2)
    assert _count(sqlite) == 1


def test_a_reader_does_not_wait_for_a_writer(sqlite: Engine) -> None:
    with sqlite.connect() as writer:
        writer.execute(text("INSERT INTO entries (id, writer) VALUES (1, 0)"))
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(_count, sqlite).result(timeout=1) == 0  # WAL: the last commit
        writer.commit()
    assert _count(sqlite) == 1


def _insert_on_another_connection(engine: Engine, entry: int) -> None:
    """A write from another thread on another connection than the one that wrote last (the
    pool hands that one to `held`), so it must wait for its turn if nobody handed it on."""
    with engine.connect() as held, ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_insert, engine, entry).result()
        held.rollback()


def _insert(engine: Engine, entry: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO entries (id, writer) VALUES (:id, 1)"), {"id": entry})
