"""Idempotency keys of audit starts: which case a key already started, for which request."""

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from db.models import StartKeyRow


def find(engine: Engine, owner: str, key: str) -> StartKeyRow | None:
    with Session(engine) as session:
        return session.get(StartKeyRow, (owner, key))


def claim(engine: Engine, owner: str, key: str, audit_id: str, body_sha256: str) -> StartKeyRow:
    """Bind `key` to `audit_id`; if a concurrent retry bound it first, that binding wins."""
    with Session(engine) as session:
        row = StartKeyRow(
            owner=owner,
            key=key,
            audit_id=audit_id,
            body_sha256=body_sha256,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        try:
            session.commit()
            session.refresh(row)
            return row
        except IntegrityError:
            session.rollback()
    found = find(engine, owner, key)
    assert found is not None
    return found


def rebind(engine: Engine, owner: str, key: str, taken: str, audit_id: str) -> None:
    """Move a key off an id that turned out to be taken, unless an overlapping try of the
    same request moved it first (one conditional update: only one of them moves it)."""
    with Session(engine) as session:
        session.execute(
            update(StartKeyRow)
            .where(
                col(StartKeyRow.owner) == owner,
                col(StartKeyRow.key) == key,
                col(StartKeyRow.audit_id) == taken,
            )
            .values(audit_id=audit_id)
        )
        session.commit()
