"""Payments the treasury posted that no running case counted (unknown or closed audit):
kept, once per audit id and reference, until the treasury reconciles them."""

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from db.models import UnmatchedPaymentRow
from domain.case import Payment


def keep(engine: Engine, audit_id: str, payment: Payment, reason: str) -> None:
    """Store the posting unless the same audit id and reference are already kept."""
    with Session(engine) as session:
        session.add(
            UnmatchedPaymentRow(
                audit_id=audit_id,
                reference=payment.reference,
                amount=payment.amount,
                paid_at=payment.paid_at,
                kind=payment.kind,
                reason=reason[:500],
                received_at=datetime.now(UTC),
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # a repeated posting of the same payment


def listing(engine: Engine, after_id: int, limit: int) -> list[UnmatchedPaymentRow]:
    with Session(engine) as session:
        query = (
            select(UnmatchedPaymentRow)
            .where(col(UnmatchedPaymentRow.id) > after_id)
            .order_by(col(UnmatchedPaymentRow.id))
            .limit(limit)
        )
        return list(session.exec(query))
