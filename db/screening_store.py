"""Reading screening runs and candidates, and deciding candidates: each decision is taken
by one conditional update (only an open candidate can be taken), so two inspectors
accepting at once get one audit, and it is chained into the trail in the same transaction."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import trail
from db.screening_models import CandidateRow, DeclarationLineRow, ScreeningRunRow
from domain.screening.records import DeclarationLine


def candidate_trail_id(candidate_id: int) -> str:
    """The trail a candidate's decisions are chained in (an audit id's place)."""
    return f"SC-{candidate_id}"


def create_run(engine: Engine, requested_by: str) -> ScreeningRunRow:
    with Session(engine) as session:
        row = ScreeningRunRow(
            trigger="manual",
            requested_by=requested_by,
            status="queued",
            started_at=datetime.now(UTC),
        )
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def set_run(engine: Engine, run_id: int, **values: Any) -> None:
    with Session(engine) as session:
        session.execute(
            update(ScreeningRunRow).where(col(ScreeningRunRow.id) == run_id).values(**values)
        )
        session.commit()


def get_run(engine: Engine, run_id: int) -> ScreeningRunRow | None:
    with Session(engine) as session:
        return session.get(ScreeningRunRow, run_id)


def get_candidate(engine: Engine, candidate_id: int) -> CandidateRow | None:
    with Session(engine) as session:
        return session.get(CandidateRow, candidate_id)


def list_candidates(
    engine: Engine,
    *,
    office: str | None,
    rule: str | None,
    status: str | None,
    customs_office: str | None,
    hs_code: str | None,
    after: tuple[Decimal, int] | None,
    limit: int,
) -> list[CandidateRow]:
    """Highest score first (then oldest), continuing after the (score, id) of a last item.
    With `office`, price candidates of other offices are left out (postal ones have none)."""
    query = select(CandidateRow)
    if office:
        query = query.where(
            or_(col(CandidateRow.rule) == "postal", col(CandidateRow.customs_office) == office)
        )
    if rule:
        query = query.where(col(CandidateRow.rule) == rule)
    if status:
        query = query.where(col(CandidateRow.status) == status)
    if customs_office:
        query = query.where(col(CandidateRow.customs_office) == customs_office)
    if hs_code:
        query = query.where(col(CandidateRow.hs_code).startswith(hs_code))
    if after:
        score, last_id = after
        query = query.where(
            or_(
                col(CandidateRow.score) < score,
                and_(col(CandidateRow.score) == score, col(CandidateRow.id) > last_id),
            )
        )
    query = query.order_by(col(CandidateRow.score).desc(), col(CandidateRow.id)).limit(limit)
    with Session(engine) as session:
        return list(session.scalars(query))


def claim(
    engine: Engine, candidate: CandidateRow, by: str, lease: timedelta
) -> list[CandidateRow] | None:
    """Take an open candidate, with the open price candidates of the same declaration (one
    audit covers the declaration); or take over the group a candidate is being accepted
    with when that acceptance is older than `lease` (its request died midway: the start key
    derived from the group makes the retry find the audit it may have started). None when
    someone else holds it, or it is decided."""
    now = datetime.now(UTC)
    taking = {"status": "accepting", "decided_by": by, "decided_at": now}
    with Session(engine) as session:
        if candidate.status == "accepting":
            ids = list(
                session.scalars(
                    update(CandidateRow)
                    .where(*_group_of(candidate), col(CandidateRow.decided_at) < now - lease)
                    .values(**taking)
                    .returning(col(CandidateRow.id))
                )
            )
        else:
            ids = list(
                session.scalars(
                    update(CandidateRow)
                    .where(col(CandidateRow.id) == candidate.id, col(CandidateRow.status) == "open")
                    .values(**taking)
                    .returning(col(CandidateRow.id))
                )
            )
            if ids and candidate.rule == "price":
                ids += session.scalars(
                    update(CandidateRow)
                    .where(*_open_of_declaration(candidate))
                    .values(**taking)
                    .returning(col(CandidateRow.id))
                )
        if not ids:
            return None
        session.commit()
        claimed = session.scalars(select(CandidateRow).where(col(CandidateRow.id).in_(ids)))
        return sorted(claimed, key=lambda row: row.id or 0)


def open_group(engine: Engine, candidate: CandidateRow) -> list[CandidateRow]:
    """What accepting `candidate` would take now (read only: the form shows it first)."""
    with Session(engine) as session:
        others = session.scalars(select(CandidateRow).where(*_open_of_declaration(candidate))).all()
    return sorted({row.id: row for row in [candidate, *others]}.values(), key=lambda r: r.id or 0)


def _open_of_declaration(candidate: CandidateRow) -> tuple[Any, ...]:
    return (
        col(CandidateRow.rule) == "price",
        col(CandidateRow.declaration_number) == candidate.declaration_number,
        col(CandidateRow.status) == "open",
    )


def _group_of(taken: CandidateRow) -> tuple[Any, ...]:
    """The candidates one acceptance took together: stamped by the same claim."""
    return (
        col(CandidateRow.declaration_number) == taken.declaration_number,
        col(CandidateRow.status) == "accepting",
        col(CandidateRow.decided_by) == taken.decided_by,
        col(CandidateRow.decided_at) == taken.decided_at,
    )


def release(engine: Engine, claimed: list[CandidateRow]) -> None:
    """Give back what a failed acceptance took, so it can be accepted again (unless another
    request has taken it over meanwhile)."""
    with Session(engine) as session:
        session.execute(
            update(CandidateRow)
            .where(col(CandidateRow.id).in_([row.id for row in claimed]), *_group_of(claimed[0]))
            .values(status="open", decided_by=None, decided_at=None)
        )
        session.commit()


def accepted(
    engine: Engine, claimed: list[CandidateRow], audit_id: str, by: str, role: str
) -> None:
    """Bind the claimed candidates to the audit they started, in their trails and the
    audit's; once, however many requests finish the same acceptance."""

    def bind(session: Session) -> None:
        bound = sorted(
            candidate_id
            for candidate_id in session.scalars(
                update(CandidateRow)
                .where(
                    col(CandidateRow.id).in_([row.id for row in claimed]),
                    col(CandidateRow.status) == "accepting",
                )
                .values(status="accepted", audit_id=audit_id)
                .returning(col(CandidateRow.id))
            )
            if candidate_id is not None
        )
        for candidate_id in bound:
            rule = next(row.rule for row in claimed if row.id == candidate_id)
            details = {"candidate": candidate_id, "rule": rule, "audit_id": audit_id}
            trail.append_in(
                session,
                candidate_trail_id(candidate_id),
                [
                    trail.Entry(
                        action="screening_candidate_accepted",
                        actor=by,
                        role=role,
                        details=details,
                        source="accepted",
                    )
                ],
            )
        if bound:
            trail.append_in(
                session,
                audit_id,
                [
                    trail.Entry(
                        action="started_from_screening",
                        actor=by,
                        role=role,
                        details={"candidates": bound},
                        source="screening",
                    )
                ],
            )

    trail.in_order(engine, bind)


def referred(engine: Engine, candidate: CandidateRow, by: str, role: str, note: str) -> bool:
    """Accept a candidate that no audit can follow (a postal finding): recorded, no case."""
    return _decide(engine, candidate, by, role, "accepted", note, "screening_candidate_accepted")


def dismiss(engine: Engine, candidate: CandidateRow, by: str, role: str, reason: str) -> bool:
    return _decide(
        engine, candidate, by, role, "dismissed", reason, "screening_candidate_dismissed"
    )


def _decide(
    engine: Engine,
    candidate: CandidateRow,
    by: str,
    role: str,
    status: str,
    reason: str,
    action: str,
) -> bool:
    assert candidate.id is not None
    with Session(engine) as session:
        taken = session.execute(
            update(CandidateRow)
            .where(col(CandidateRow.id) == candidate.id, col(CandidateRow.status) == "open")
            .values(status=status, reason=reason, decided_by=by, decided_at=datetime.now(UTC))
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return False
        trail.append_in(
            session,
            candidate_trail_id(candidate.id),
            [
                trail.Entry(
                    action=action,
                    actor=by,
                    role=role,
                    details={"candidate": candidate.id, "rule": candidate.rule, "reason": reason},
                    source=status,
                )
            ],
        )
        session.commit()
        return True


def declaration_lines(engine: Engine, declaration_number: str) -> list[DeclarationLine]:
    fields = tuple(DeclarationLine.model_fields)
    with Session(engine) as session:
        rows = session.scalars(
            select(DeclarationLineRow)
            .where(col(DeclarationLineRow.declaration_number) == declaration_number)
            .order_by(col(DeclarationLineRow.line_no))
        )
        return [
            DeclarationLine.model_validate({k: getattr(row, k) for k in fields}) for row in rows
        ]
