"""The tamper-evident trail: every action on a case, each row chained to the one before it.

hash = SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the row's audit id,
sequence number, time, actor, role, action, details and the previous row's hash. Changing,
deleting or reordering a row breaks the chain at that row, and `verify` names it.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from db.models import TrailRow

GENESIS = "0" * 64
_ATTEMPTS = 10


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def canonical_dict(value: dict[str, Any]) -> dict[str, Any]:
    """`value` as it will read back from a JSON column (dates as ISO strings)."""
    result: dict[str, Any] = json.loads(canonical(value))
    return result


def row_hash(row: TrailRow) -> str:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    return hashlib.sha256(
        canonical(
            {
                "audit_id": row.audit_id,
                "seq": row.seq,
                "at": at.astimezone(UTC).isoformat(),
                "actor": row.actor,
                "role": row.role,
                "action": row.action,
                "details": row.details,
                "prev_hash": row.prev_hash,
            }
        )
    ).hexdigest()


class Entry(BaseModel):
    """What a caller appends; `source` makes the same fact land once however often it is
    written (a retried activity, a replayed projection)."""

    action: str
    actor: str
    role: str
    details: dict[str, Any] = {}
    source: str
    at: datetime | None = None


def append(engine: Engine, audit_id: str, entries: list[Entry]) -> None:
    """Append in order, in a transaction of its own."""
    in_order(engine, lambda session: append_in(session, audit_id, entries))


def in_order(engine: Engine, write: Callable[[Session], None]) -> None:
    """Run `write`, which appends to trails, in one transaction; again from the start if a
    concurrent writer (the case's projection, another request) took the same (case, seq)
    first, so the chain stays unbroken and nobody gets a server error for the race."""
    for _ in range(_ATTEMPTS):
        with Session(engine) as session:
            try:
                write(session)
                session.commit()
                return
            except IntegrityError:
                continue
    raise RuntimeError("could not append to a trail: too many concurrent writers")


def append_in(session: Session, audit_id: str, entries: list[Entry]) -> None:
    """Add `entries` after the case's last row within `session` (the caller commits);
    entries whose source is already in the trail are skipped."""
    if not entries:
        return
    last = session.exec(
        select(TrailRow.seq, TrailRow.hash)
        .where(TrailRow.audit_id == audit_id)
        .order_by(col(TrailRow.seq).desc())
        .limit(1)
    ).first()
    sources = [entry.source for entry in entries]
    seen = set(
        session.exec(
            select(TrailRow.source).where(
                TrailRow.audit_id == audit_id, col(TrailRow.source).in_(sources)
            )
        )
    )
    seq, prev = last if last else (0, GENESIS)
    for entry in entries:
        if entry.source in seen:
            continue
        seq += 1
        row = TrailRow(
            audit_id=audit_id,
            seq=seq,
            at=(entry.at or datetime.now(UTC)).astimezone(UTC),
            actor=entry.actor,
            role=entry.role,
            action=entry.action,
            details=canonical_dict(entry.details),
            source=entry.source,
            prev_hash=prev,
            hash="",
        )
        row.hash = row_hash(row)
        prev = row.hash
        seen.add(entry.source)
        session.add(row)


class Verdict(BaseModel):
    valid: bool
    rows: int
    first_broken_seq: int | None = None
    reason: str | None = None


def read(engine: Engine, audit_id: str) -> list[TrailRow]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(TrailRow).where(TrailRow.audit_id == audit_id).order_by(col(TrailRow.id))
            )
        )


def verify(engine: Engine, audit_id: str) -> Verdict:
    """Recompute the chain in storage order and name the first row that does not fit."""
    rows = read(engine, audit_id)
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return Verdict(
                valid=False,
                rows=len(rows),
                first_broken_seq=expected_seq,
                reason=f"row {expected_seq} is missing or out of order (found {row.seq})",
            )
        if row.prev_hash != prev:
            return Verdict(
                valid=False,
                rows=len(rows),
                first_broken_seq=row.seq,
                reason="does not follow the previous row (deleted or reordered before it)",
            )
        if row_hash(row) != row.hash:
            return Verdict(
                valid=False,
                rows=len(rows),
                first_broken_seq=row.seq,
                reason="its content was changed after it was written",
            )
        prev = row.hash
    return Verdict(valid=True, rows=len(rows))
