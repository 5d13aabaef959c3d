"""The read model: each case's latest snapshot, for listings that never touch Temporal."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db import trail
from db.case_rows import projection_values
from db.models import AuditRow, PartyRow, PaymentRow
from domain.actors import attribute
from domain.case import CaseSummary, Payment
from domain.case_state import CaseState, evolve
from domain.case_view import summary
from domain.lifecycle import EventKind
from domain.tasks import PROJECTION_REJECTED, SAVE_PROJECTION, ProjectionUpdate


class ProjectionGap(Exception):
    """Events arrived past the ones stored; the earlier write is still being retried."""


def fold(
    stored: CaseState | None, update: ProjectionUpdate
) -> tuple[CaseState, list[trail.Entry], list[Payment]]:
    """The state after the update's events that are not stored yet, with their trail rows
    and new payments. A retried or late write adds nothing; a gap waits for its retry."""
    state = stored
    if update.initial is not None and (stored is None or stored.event_count == 0):
        state = update.initial  # the workflow's own start wins over the API's first row
    if state is None:
        raise ProjectionGap(f"{update.audit_id}: the first write has not arrived yet")
    if state.event_count < update.first_index:
        raise ProjectionGap(
            f"{update.audit_id}: {state.event_count} events stored, "
            f"this write starts at {update.first_index}"
        )
    entries: list[trail.Entry] = []
    payments: list[Payment] = []
    for index, event in enumerate(update.events, start=update.first_index):
        if index < state.event_count:
            continue
        state = evolve(state, event)
        actor, role = attribute(event, summary(state))
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
        if event.kind == EventKind.PAYMENT_RECEIVED:
            payments.append(Payment.model_validate(event.details["payment"]))
    return state, entries, payments


def _save_party_and_payments(
    session: Session, summary: CaseSummary, payments: list[Payment], party_stored: bool
) -> None:
    """Store the party if it is new or changed, and insert the payments not stored yet
    (both idempotent). Every case of an importer writes through here: rewriting an unchanged
    party row would lock it and queue all of that importer's cases behind one another.
    `party_stored`: an earlier write of this case stored its party (a case's party never
    changes), so there is nothing to read or write for it."""
    if not party_stored:
        _save_party(session, summary)
    if not payments:
        return
    known = set(session.exec(select(PaymentRow.reference).where(PaymentRow.audit_id == summary.id)))
    for payment in payments:
        if payment.reference not in known:
            session.add(PaymentRow(audit_id=summary.id, **payment.model_dump()))


def _save_party(session: Session, summary: CaseSummary) -> None:
    party = summary.party
    fields: dict[str, Any] = {
        "name": party.name,
        "email": party.email,
        "phone": party.phone,
        "language": party.language,
    }
    stored = session.get(PartyRow, party.bin)
    if stored is None:
        session.add(PartyRow(bin=party.bin, updated_at=datetime.now(UTC), **fields))
    elif any(getattr(stored, name) != value for name, value in fields.items()):
        for name, value in fields.items():
            setattr(stored, name, value)
        stored.updated_at = datetime.now(UTC)


class ProjectionActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=SAVE_PROJECTION)
    def save_case_projection(self, update: ProjectionUpdate) -> None:
        """Fold the new events into the stored state, and write the row, the party, the new
        payments and the trail rows in one transaction.

        The workflow writes one update at a time, in order; a retried or late write of
        events already stored changes nothing, and each event reaches the trail once.
        """
        try:
            self._save(update)
        except DataError as error:
            # A value the database cannot hold (a retry would fail the same way for ever):
            # give up so the case can tell staff, instead of retrying silently.
            raise ApplicationError(
                f"the read model cannot store case {update.audit_id}: {error.orig}",
                type=PROJECTION_REJECTED,
                non_retryable=True,
            ) from error

    def _save(self, update: ProjectionUpdate) -> None:
        try:
            self._save_once(update)
        except IntegrityError:
            # A concurrent writer got there first (the API writes a case's first row too, and
            # requests append to its trail): fold again onto what is stored now, rather than
            # fail and wait for Temporal's retry.
            self._save_once(update)

    def _save_once(self, update: ProjectionUpdate) -> None:
        with Session(self._engine) as session:
            row = session.get(AuditRow, update.audit_id, with_for_update=True)
            stored = CaseState.model_validate(row.snapshot) if row else None
            state, entries, payments = fold(stored, update)
            if stored is not None and state.event_count == stored.event_count:
                return
            values = projection_values(state)
            if row is None:
                session.add(AuditRow(**values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)
            party_stored = stored is not None and stored.event_count > 0
            _save_party_and_payments(session, summary(state), payments, party_stored)
            session.flush()
            trail.append_in(session, update.audit_id, entries)
            session.commit()
