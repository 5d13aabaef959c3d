"""The state of one audit case inside the workflow, and the steps every part of it shares:
recording events, moving along the lifecycle, counting deadlines, publishing the snapshot
(search attributes and read model), issuing documents and waiting on timers.
"""

import asyncio
import functools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

from workflows import courier
from workflows.errors import INVALID_INPUT, WRONG_STATE
from workflows.search_attributes import (
    AMOUNT_DUE,
    INSPECTOR,
    OFFICE,
    PARTY_BIN,
    RESPONSE_DEADLINE,
    REVIEW_DEADLINE,
    REVIEW_OVERDUE,
    STATUS,
)

with workflow.unsafe.imports_passed_through():
    from domain.assessment import Assessment
    from domain.case import (
        AuditStart,
        CaseEvent,
        CaseSnapshot,
        Explanation,
        Payment,
        RequestState,
    )
    from domain.charges import Charges
    from domain.clock import end_of_day, local_date
    from domain.lifecycle import AuditStatus, EventKind, check_transition
    from domain.notices import DocumentKind, document_number
    from domain.settlement import Settlement
    from domain.tasks import (
        COMPUTE_DEADLINE,
        SAVE_PROJECTION,
        SETTLE_PAYMENTS,
        DeadlineKind,
        DeadlineRequest,
        RenderedDocument,
        SettleRequest,
        StaffNotice,
    )


class CaseState:
    def __init__(self, start: AuditStart) -> None:
        self._start = start
        self._inspector_id = start.inspector_id
        self._status = AuditStatus.ISSUED
        self._issued_on = local_date(workflow.now())
        self._events: list[CaseEvent] = []
        self._documents: list[RenderedDocument] = []
        self._background: list[asyncio.Task[None]] = []
        self._payments: dict[str, Payment] = {}
        self._charges: Charges | None = start.charges
        self._assessment: Assessment | None = None
        self._settlement: Settlement | None = None
        self._settling = asyncio.Lock()
        self._awaiting: str | None = None
        self._served: tuple[date, str, str] | None = None  # date, how, reference
        self._returned_on: date | None = None
        self._inspection_deadline: date | None = None
        self._delivered_on: date | None = None
        self._response_deadline: date | None = None
        self._explanation: Explanation | None = None
        self._explanation_received_on: date | None = None
        self._review_deadline: date | None = None
        self._requests: list[RequestState] = []
        self._overdue = False
        self._alerts_failed = False
        self._decision_reasons: str | None = None
        self._cancel_reason: str | None = None
        self._deadline_revision = 0
        self._record(
            EventKind.STARTED,
            inspector_id=start.inspector_id,
            customs_office=start.customs_office,
            amount_due=str(start.charges.total) if start.charges else None,
            lines=len(start.lines or []),
            delivery_method=str(start.delivery_method),
        )

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
            if not await self._wait_until(
                functools.partial(self._moved_on, state, revision), end_of_day(deadline)
            ):
                return False
        return True

    async def _wait_until(self, condition: Any, instant: datetime) -> bool:
        """Wait for `condition` until `instant`; False if the instant came first."""
        remaining = instant - workflow.now()
        if condition():
            return True
        if remaining <= timedelta(0):
            return False
        try:
            await workflow.wait_condition(condition, timeout=remaining)
        except TimeoutError:
            return bool(condition())
        return True

    def _moved_on(self, state: AuditStatus, revision: int) -> bool:
        return self._status != state or self._deadline_revision != revision

    async def _settle_and_check(self) -> None:
        """Payments that came before service count once the period has started."""
        if self._payments:
            await self._settle()
            self._fulfil_if_paid()

    async def _settle(self) -> None:
        """Recompute what the payments cover, as of the latest payment date."""
        if self._charges is None or not self._payments:
            return
        async with self._settling:
            payments = list(self._payments.values())
            self._settlement = await workflow.execute_activity(
                SETTLE_PAYMENTS,
                SettleRequest(
                    charges=self._charges,
                    payments=payments,
                    as_of=max(p.paid_at for p in payments),
                    notification_date=self._issued_on,
                    response_deadline=self._response_deadline,
                ),
                result_type=Settlement,
                start_to_close_timeout=courier.ACTIVITY_TIMEOUT,
                retry_policy=courier.DURABLE,
            )

    async def _issue_document(
        self, kind: DocumentKind, case: CaseSnapshot, **extra: str
    ) -> RenderedDocument:
        sequence = 1 + sum(1 for d in self._documents if d.kind == kind)
        number = document_number(self._start.audit_id, kind, sequence)
        document = await courier.issue(kind, number, case, local_date(workflow.now()), **extra)
        self._documents.append(document)
        self._record(
            EventKind.DOCUMENT_ISSUED,
            document=document.number,
            document_kind=str(kind),
            document_id=document.document_id,
            sha256=document.sha256,
        )
        return document

    async def _tell_staff(self, subject: str, body: str) -> None:
        told = await courier.notify_staff(
            StaffNotice(
                audit_id=self._start.audit_id,
                customs_office=self._start.customs_office,
                inspector_id=self._inspector_id,
                subject=subject,
                body=body,
            )
        )
        self._record(EventKind.STAFF_NOTIFIED, subject=subject, delivered=told)

    # ---- helpers ----------------------------------------------------------------------------

    def _fulfil_if_paid(self) -> None:
        if self._status not in (AuditStatus.AWAITING_RESPONSE, AuditStatus.UNDER_REVIEW):
            return
        settlement = self._settlement
        if settlement is not None and len(self._payments) and settlement.fulfilled:
            self._move(AuditStatus.FULFILLED)
            self._record(
                EventKind.FULFILLED,
                amount_paid=str(self._amount_paid()),
                as_of=settlement.as_of.isoformat(),
                late_penalty=str(settlement.late_penalty),
            )

    async def _deadline(
        self, kind: DeadlineKind, counted_from: date, working_days: int | None = None
    ) -> date:
        result: date = await workflow.execute_activity(
            COMPUTE_DEADLINE,
            DeadlineRequest(kind=kind, counted_from=counted_from, working_days=working_days),
            result_type=date,
            start_to_close_timeout=courier.ACTIVITY_TIMEOUT,
            retry_policy=courier.DURABLE,
        )
        return result

    def _require_status(self, expected: AuditStatus, what: str) -> None:
        if self._status != expected:
            raise ApplicationError(
                f"{what} is only accepted while the case is {expected}; it is {self._status}",
                type=WRONG_STATE,
            )

    def _require_awaiting(self, awaiting: str, what: str) -> None:
        if self._status != AuditStatus.ISSUED or self._awaiting != awaiting:
            now = self._awaiting or str(self._status)
            raise ApplicationError(
                f"{what} is only accepted while the case awaits a {awaiting}; it is {now}",
                type=WRONG_STATE,
            )

    def _require_date_between(self, field: str, day: date, earliest: date, since: str) -> None:
        today = local_date(workflow.now())
        if not earliest <= day <= today:
            raise ApplicationError(
                f"{field} {day} must be between {earliest} ({since}) and today {today}",
                {"field": field},
                type=INVALID_INPUT,
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
            INSPECTOR.value_set(self._inspector_id),
            OFFICE.value_set(self._start.customs_office),
            AMOUNT_DUE.value_set(float(self._charges.total if self._charges else 0)),
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
            start_to_close_timeout=courier.ACTIVITY_TIMEOUT,
            retry_policy=courier.DURABLE,
        )

    def _snapshot(self) -> CaseSnapshot:
        paid = self._amount_paid()
        settlement = self._settlement
        due = (
            settlement.owed if settlement else self._charges.total if self._charges else Decimal(0)
        )
        return CaseSnapshot(
            id=self._start.audit_id,
            status=self._status,
            version=len(self._events),
            customs_office=self._start.customs_office,
            inspector_id=self._inspector_id,
            party_bin=self._start.party.bin,
            party_name=self._start.party.name,
            party=self._start.party,
            language=self._start.party.language,
            delivery_method=self._start.delivery_method,
            awaiting=self._awaiting,
            inspection_deadline=self._inspection_deadline,
            alerts_failed=self._alerts_failed,
            declarations=self._start.declarations,
            findings=self._start.findings,
            charges=self._charges,
            assessment=self._assessment,
            payments=list(self._payments.values()),
            settlement=settlement,
            notification_number=self._start.audit_id,
            issued_on=self._issued_on,
            delivered_on=self._delivered_on,
            response_deadline=self._response_deadline,
            explanation_received_on=self._explanation_received_on,
            review_deadline=self._review_deadline,
            document_requests=[r.model_copy() for r in self._requests],
            overdue=self._overdue,
            amount_due=due,
            amount_paid=paid,
            amount_outstanding=settlement.outstanding
            if settlement
            else max(due - paid, Decimal(0)),
            credit=settlement.credit if settlement else max(paid - due, Decimal(0)),
            decision_reasons=self._decision_reasons,
            cancel_reason=self._cancel_reason,
            events=list(self._events),
        )
