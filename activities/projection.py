"""The read model: each case's latest snapshot, for listings that never touch Temporal."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity

from db import trail
from db.models import NO_DEADLINE, AuditRow, PartyRow, PaymentRow
from domain.actors import attribute
from domain.case import CaseSnapshot
from domain.lifecycle import AuditStatus
from domain.tasks import SAVE_PROJECTION


def next_deadline(snapshot: CaseSnapshot) -> date:
    if snapshot.status == AuditStatus.AWAITING_RESPONSE and snapshot.response_deadline:
        return snapshot.response_deadline
    if snapshot.status == AuditStatus.UNDER_REVIEW and snapshot.review_deadline:
        return snapshot.review_deadline
    return NO_DEADLINE


def projection_values(snapshot: CaseSnapshot) -> dict[str, Any]:
    return {
        "id": snapshot.id,
        "version": snapshot.version,
        "status": str(snapshot.status),
        "customs_office": snapshot.customs_office,
        "inspector_id": snapshot.inspector_id,
        "party_bin": snapshot.party_bin,
        "party_name": snapshot.party_name,
        "issued_on": snapshot.issued_on,
        "delivered_on": snapshot.delivered_on,
        "response_deadline": snapshot.response_deadline,
        "review_deadline": snapshot.review_deadline,
        "overdue": snapshot.overdue,
        "next_deadline": next_deadline(snapshot),
        "amount_due": snapshot.amount_due,
        "amount_paid": snapshot.amount_paid,
        "snapshot": snapshot.model_dump(mode="json"),
        "updated_at": datetime.now(UTC),
    }


def trail_entries(snapshot: CaseSnapshot) -> list[trail.Entry]:
    """The case's events as trail rows; `source` is the event's place in the history."""
    entries = []
    for index, event in enumerate(snapshot.events):
        actor, role = attribute(event, snapshot)
        entries.append(
            trail.Entry(
                action=str(event.kind),
                actor=actor,
                role=role,
                details=event.details,
                source=f"event:{index}",
                at=event.at,
            )
        )
    return entries


def _save_party_and_payments(session: Session, snapshot: CaseSnapshot) -> None:
    """Upsert the party and insert the payments not stored yet (both idempotent)."""
    party = snapshot.party
    session.merge(
        PartyRow(
            bin=party.bin,
            name=party.name,
            email=party.email,
            phone=party.phone,
            language=party.language,
            updated_at=datetime.now(UTC),
        )
    )
    known = set(
        session.exec(select(PaymentRow.reference).where(PaymentRow.audit_id == snapshot.id))
    )
    for payment in snapshot.payments:
        if payment.reference not in known:
            session.add(PaymentRow(audit_id=snapshot.id, **payment.model_dump()))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise  # a concurrent writer stored the same payment; the retry sees it


class ProjectionActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=SAVE_PROJECTION)
    def save_case_projection(self, snapshot: CaseSnapshot) -> None:
        """Write the snapshot unless a newer one is already stored, and the new events to
        the trail.

        Writes may arrive out of order (concurrent handlers, retries after an outage); the
        version guard makes the stored state only ever move forward, and each event reaches
        the trail once, in history order.
        """
        values = projection_values(snapshot)
        with Session(self._engine) as session:
            result = session.exec(
                update(AuditRow)
                .where(col(AuditRow.id) == snapshot.id, col(AuditRow.version) < snapshot.version)
                .values(**values)
            )
            if result.rowcount:
                session.commit()
            elif session.get(AuditRow, snapshot.id) is None:
                try:
                    session.add(AuditRow(**values))
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    raise  # a concurrent first write won; the retry applies the guard
            _save_party_and_payments(session, snapshot)
        trail.append(self._engine, snapshot.id, trail_entries(snapshot))
