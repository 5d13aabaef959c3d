"""The `CameralAudit` workflow: one durable case from notification to final decision.

The main coroutine owns the deadlines (delivery, 20 working days to respond, 10 to review);
updates and signals change the case as users act. Every change appends an event, bumps the
version, refreshes the search attributes and is written to the read model by an activity.
"""

import functools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.case import (
        AuditStart,
        Cancellation,
        CaseEvent,
        CaseSnapshot,
        Explanation,
        Payment,
        ReviewDecision,
    )
    from domain.clock import end_of_day, local_date
    from domain.lifecycle import TERMINAL, AuditStatus, EventKind, check_transition
    from domain.tasks import (
        COMPUTE_DEADLINE,
        PLACE_IN_CABINET,
        SAVE_PROJECTION,
        CabinetNotice,
        DeadlineKind,
        DeadlineRequest,
    )

STATUS = SearchAttributeKey.for_keyword("AuditStatus")
PARTY_BIN = SearchAttributeKey.for_keyword("PartyBin")
INSPECTOR = SearchAttributeKey.for_keyword("InspectorId")
OFFICE = SearchAttributeKey.for_keyword("CustomsOffice")
RESPONSE_DEADLINE = SearchAttributeKey.for_datetime("ResponseDeadline")
REVIEW_DEADLINE = SearchAttributeKey.for_datetime("ReviewDeadline")
AMOUNT_DUE = SearchAttributeKey.for_float("AmountDue")
REVIEW_OVERDUE = SearchAttributeKey.for_bool("ReviewOverdue")
SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    STATUS,
    PARTY_BIN,
    INSPECTOR,
    OFFICE,
    RESPONSE_DEADLINE,
    REVIEW_DEADLINE,
    AMOUNT_DUE,
    REVIEW_OVERDUE,
)

# Error types the API maps to HTTP: a rule about the case's state (409) or about the input (422).
WRONG_STATE = "WrongState"
INVALID_INPUT = "InvalidInput"

_ACTIVITY_TIMEOUT = timedelta(seconds=30)
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


@workflow.defn(name="CameralAudit")
class CameralAudit:
    @workflow.init
    def __init__(self, start: AuditStart) -> None:
        self._start = start
        self._status = AuditStatus.ISSUED
        self._issued_on = local_date(workflow.now())
        self._events: list[CaseEvent] = []
        self._payments: dict[str, Payment] = {}
        self._delivered_on: date | None = None
        self._response_deadline: date | None = None
        self._explanation: Explanation | None = None
        self._explanation_received_on: date | None = None
        self._review_deadline: date | None = None
        self._overdue = False
        self._decision_reasons: str | None = None
        self._cancel_reason: str | None = None
        self._deadline_revision = 0
        self._record(
            EventKind.STARTED,
            inspector_id=start.inspector_id,
            customs_office=start.customs_office,
            amount_due=str(start.charges.total),
        )

    @workflow.run
    async def run(self, start: AuditStart) -> CaseSnapshot:
        await self._publish()
        await self._deliver()
        if self._status == AuditStatus.AWAITING_RESPONSE:
            answered = await self._wait_while(AuditStatus.AWAITING_RESPONSE, "response")
            if not answered and self._explanation is None:
                self._move(AuditStatus.UNFULFILLED)
                self._record(
                    EventKind.DECISION_UNFULFILLED,
                    reason="no payment and no explanation by the response deadline",
                )
                await self._publish()
            elif not answered:
                # The explanation arrived on time and its handler is still finishing.
                await workflow.wait_condition(lambda: self._status != AuditStatus.AWAITING_RESPONSE)
        if self._status == AuditStatus.UNDER_REVIEW:
            decided = await self._wait_while(AuditStatus.UNDER_REVIEW, "review")
            if not decided:
                self._overdue = True
                self._record(EventKind.REVIEW_OVERDUE, review_deadline=str(self._review_deadline))
                self._record(EventKind.ESCALATED, customs_office=self._start.customs_office)
                await self._publish()
                await workflow.wait_condition(lambda: self._status != AuditStatus.UNDER_REVIEW)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._snapshot()

    # ---- queries, signals and updates -------------------------------------------------------

    @workflow.query
    def snapshot(self) -> CaseSnapshot:
        return self._snapshot()

    @workflow.signal
    async def record_payment(self, payment: Payment) -> None:
        if payment.reference in self._payments:
            self._record(EventKind.PAYMENT_DUPLICATE, reference=payment.reference)
            await self._publish()
            return
        self._payments[payment.reference] = payment
        self._record(
            EventKind.PAYMENT_RECEIVED,
            reference=payment.reference,
            amount=str(payment.amount),
            paid_at=payment.paid_at.isoformat(),
        )
        self._fulfil_if_paid()
        await self._publish()

    @workflow.signal
    async def calendar_changed(self) -> None:
        """A decree changed the working-day calendar: recount the deadline still running."""
        if self._status == AuditStatus.AWAITING_RESPONSE and self._delivered_on:
            self._response_deadline = await self._deadline("response", self._delivered_on)
        elif self._status == AuditStatus.UNDER_REVIEW and self._explanation_received_on:
            self._review_deadline = await self._deadline("review", self._explanation_received_on)
        else:
            return
        self._deadline_revision += 1
        await self._publish()

    @workflow.update
    async def submit_explanation(self, explanation: Explanation) -> CaseSnapshot:
        self._explanation = explanation
        received_on = local_date(workflow.now())
        review_deadline = await self._deadline("review", received_on)
        if self._status != AuditStatus.AWAITING_RESPONSE:
            # Paid in full or cancelled while the deadline was being counted; keep the text.
            self._record(EventKind.EXPLANATION_RECEIVED, superseded_by=str(self._status))
        else:
            self._explanation_received_on = received_on
            self._review_deadline = review_deadline
            self._move(AuditStatus.UNDER_REVIEW)
            self._record(
                EventKind.EXPLANATION_RECEIVED,
                signed_on=explanation.signed_on.isoformat(),
                documents=list(explanation.documents),
                review_deadline=review_deadline.isoformat(),
            )
        await self._publish()
        return self._snapshot()

    @submit_explanation.validator
    def _validate_explanation(self, explanation: Explanation) -> None:
        self._require_status(AuditStatus.AWAITING_RESPONSE, "An explanation")
        if self._explanation is not None:
            raise ApplicationError("an explanation was already submitted", type=WRONG_STATE)
        assert self._response_deadline is not None
        if workflow.now() >= end_of_day(self._response_deadline):
            raise ApplicationError(
                f"the response deadline {self._response_deadline} (24:00 Almaty) has passed",
                type=WRONG_STATE,
            )
        mismatches = {
            "party_bin": (explanation.party_bin, self._start.party.bin),
            "notification_number": (explanation.notification_number, self._start.audit_id),
            "notification_date": (explanation.notification_date, self._issued_on),
        }
        for field, (given, expected) in mismatches.items():
            if given != expected:
                raise ApplicationError(
                    f"{field} is {given}, but the notification says {expected}",
                    {"field": field},
                    type=INVALID_INPUT,
                )

    @workflow.update
    async def review(self, decision: ReviewDecision) -> CaseSnapshot:
        who = decision.decided_by or self._start.inspector_id
        if decision.decision == "accept":
            self._move(AuditStatus.EXPLANATION_ACCEPTED)
            self._record(EventKind.EXPLANATION_ACCEPTED, decided_by=who)
        else:
            self._decision_reasons = decision.reasons
            self._move(AuditStatus.UNFULFILLED)
            self._record(EventKind.DECISION_UNFULFILLED, decided_by=who, reasons=decision.reasons)
        await self._publish()
        return self._snapshot()

    @review.validator
    def _validate_review(self, decision: ReviewDecision) -> None:
        self._require_status(AuditStatus.UNDER_REVIEW, "A review decision")

    @workflow.update
    async def cancel(self, cancellation: Cancellation) -> CaseSnapshot:
        self._cancel_reason = cancellation.reason
        self._move(AuditStatus.CANCELLED)
        self._record(
            EventKind.CANCELLED,
            reason=cancellation.reason,
            cancelled_by=cancellation.cancelled_by or self._start.inspector_id,
        )
        await self._publish()
        return self._snapshot()

    @cancel.validator
    def _validate_cancel(self, cancellation: Cancellation) -> None:
        if self._status in TERMINAL:
            raise ApplicationError(
                f"the case is already {self._status}; a closed case cannot be cancelled",
                type=WRONG_STATE,
            )

    # ---- the steps of the lifecycle ---------------------------------------------------------

    async def _deliver(self) -> None:
        await workflow.execute_activity(
            PLACE_IN_CABINET,
            CabinetNotice(
                audit_id=self._start.audit_id,
                party_bin=self._start.party.bin,
                kind="notification",
                title=f"Notification on the elimination of violations {self._start.audit_id}",
                published_at=workflow.now(),
            ),
            start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_RETRY,
        )
        if self._status != AuditStatus.ISSUED:
            return  # cancelled while the notice was being placed
        self._delivered_on = local_date(workflow.now())
        self._response_deadline = await self._deadline("response", self._delivered_on)
        if self._status != AuditStatus.ISSUED:
            return
        self._move(AuditStatus.AWAITING_RESPONSE)
        self._record(
            EventKind.DELIVERED,
            channel="cabinet",
            delivered_on=self._delivered_on.isoformat(),
            response_deadline=self._response_deadline.isoformat(),
        )
        self._fulfil_if_paid()
        await self._publish()

    async def _wait_while(self, state: AuditStatus, deadline_kind: DeadlineKind) -> bool:
        """Wait until the case leaves `state`; False if its deadline ran out first.

        The timer is re-armed whenever a calendar change moves the deadline.
        """
        while self._status == state:
            revision = self._deadline_revision
            deadline = (
                self._response_deadline if deadline_kind == "response" else self._review_deadline
            )
            assert deadline is not None
            remaining = end_of_day(deadline) - workflow.now()
            if remaining <= timedelta(0):
                return False
            try:
                await workflow.wait_condition(
                    functools.partial(self._moved_on, state, revision), timeout=remaining
                )
            except TimeoutError:
                if self._status == state and self._deadline_revision == revision:
                    return False
        return True

    def _moved_on(self, state: AuditStatus, revision: int) -> bool:
        return self._status != state or self._deadline_revision != revision

    def _fulfil_if_paid(self) -> None:
        if self._status not in (AuditStatus.AWAITING_RESPONSE, AuditStatus.UNDER_REVIEW):
            return
        if self._amount_paid() >= self._start.charges.total:
            self._move(AuditStatus.FULFILLED)
            self._record(EventKind.FULFILLED, amount_paid=str(self._amount_paid()))

    # ---- helpers ----------------------------------------------------------------------------

    async def _deadline(self, kind: DeadlineKind, counted_from: date) -> date:
        result: date = await workflow.execute_activity(
            COMPUTE_DEADLINE,
            DeadlineRequest(kind=kind, counted_from=counted_from),
            result_type=date,
            start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_RETRY,
        )
        return result

    def _require_status(self, expected: AuditStatus, what: str) -> None:
        if self._status != expected:
            raise ApplicationError(
                f"{what} is only accepted while the case is {expected}; it is {self._status}",
                type=WRONG_STATE,
            )

    def _move(self, target: AuditStatus) -> None:
        check_transition(self._status, target)
        self._status = target

    def _record(self, kind: EventKind, **details: Any) -> None:
        self._events.append(CaseEvent(at=workflow.now(), kind=kind, details=details))

    def _amount_paid(self) -> Decimal:
        return sum((p.amount for p in self._payments.values()), Decimal("0"))

    def _search_attributes(self) -> list[SearchAttributeUpdate[Any]]:
        def deadline(key: SearchAttributeKey[datetime], day: date | None) -> Any:
            return key.value_set(end_of_day(day)) if day else key.value_unset()

        return [
            STATUS.value_set(str(self._status)),
            PARTY_BIN.value_set(self._start.party.bin),
            INSPECTOR.value_set(self._start.inspector_id),
            OFFICE.value_set(self._start.customs_office),
            AMOUNT_DUE.value_set(float(self._start.charges.total)),
            REVIEW_OVERDUE.value_set(self._overdue),
            deadline(RESPONSE_DEADLINE, self._response_deadline),
            deadline(REVIEW_DEADLINE, self._review_deadline),
        ]

    async def _publish(self) -> None:
        """Make the current state visible: Temporal search attributes and the read model."""
        workflow.upsert_search_attributes(self._search_attributes())
        await workflow.execute_activity(
            SAVE_PROJECTION,
            self._snapshot(),
            start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_RETRY,
        )

    def _snapshot(self) -> CaseSnapshot:
        due = self._start.charges.total
        paid = self._amount_paid()
        return CaseSnapshot(
            id=self._start.audit_id,
            status=self._status,
            version=len(self._events),
            customs_office=self._start.customs_office,
            inspector_id=self._start.inspector_id,
            party_bin=self._start.party.bin,
            party_name=self._start.party.name,
            declarations=self._start.declarations,
            findings=self._start.findings,
            charges=self._start.charges,
            notification_number=self._start.audit_id,
            issued_on=self._issued_on,
            delivered_on=self._delivered_on,
            response_deadline=self._response_deadline,
            explanation_received_on=self._explanation_received_on,
            review_deadline=self._review_deadline,
            overdue=self._overdue,
            amount_due=due,
            amount_paid=paid,
            amount_outstanding=max(due - paid, Decimal("0")),
            credit=max(paid - due, Decimal("0")),
            decision_reasons=self._decision_reasons,
            cancel_reason=self._cancel_reason,
            events=list(self._events),
        )
