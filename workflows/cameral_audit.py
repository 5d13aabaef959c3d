"""The `CameralAudit` workflow: one durable case from notification to final decision.

The main coroutine owns the deadlines (service of the notification, 20 working days to
respond, 10 to review); updates and signals change the case as users act. Every change
appends an event, bumps the version, refreshes the search attributes and is written to the
read model by an activity. Documents and their delivery are in `workflows/courier.py`.
"""

import asyncio
import functools
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

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
    from domain.assessment import Assessment, AuditLine
    from domain.case import (
        AuditStart,
        Cancellation,
        CaseEvent,
        CaseSnapshot,
        DocumentRequest,
        DocumentsProvided,
        Explanation,
        InspectionAct,
        MailReturned,
        Payment,
        PostalReceipt,
        Reassignment,
        RequestState,
        ReviewDecision,
    )
    from domain.charges import Charges
    from domain.clock import ALMATY, end_of_day, local_date
    from domain.lifecycle import TERMINAL, AuditStatus, EventKind, check_transition
    from domain.notices import DeliveryMethod, DocumentKind, document_number
    from domain.settlement import Settlement
    from domain.tasks import (
        ASSESS_CHARGES,
        COMPUTE_DEADLINE,
        COMPUTE_REMINDERS,
        SAVE_PROJECTION,
        SETTLE_PAYMENTS,
        AssessRequest,
        DeadlineKind,
        DeadlineRequest,
        ReminderDay,
        RenderedDocument,
        SettleRequest,
        StaffNotice,
    )

REMINDER_TIME = time(9, 0)  # reminders go out at the start of the Almaty working day


@workflow.defn(name="CameralAudit")
class CameralAudit:
    @workflow.init
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

    @workflow.run
    async def run(self, start: AuditStart) -> CaseSnapshot:
        await self._publish()
        if start.lines is not None:
            await self._assess(start.lines)
        if self._status != AuditStatus.ISSUED:
            pass  # cancelled, or the charges could not be assessed
        elif start.delivery_method == DeliveryMethod.CABINET:
            await self._serve_through_cabinet()
        else:
            await self._serve_by_registered_mail()
        if self._status == AuditStatus.AWAITING_RESPONSE:
            self._background.append(asyncio.create_task(self._remind()))
            await self._await_response()
        if self._status == AuditStatus.UNDER_REVIEW:
            await self._await_review()
        await self._issue_outcome()
        await asyncio.gather(*self._background)
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
            payment_kind=payment.kind,
        )
        await self._settle()
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
    async def record_postal_receipt(self, receipt: PostalReceipt) -> CaseSnapshot:
        self._served = (receipt.delivered_on, "registered_mail", receipt.receipt_no)
        await workflow.wait_condition(lambda: self._status != AuditStatus.ISSUED)
        return self._snapshot()

    @record_postal_receipt.validator
    def _validate_receipt(self, receipt: PostalReceipt) -> None:
        self._require_awaiting("postal_receipt", "A postal receipt")
        self._require_date_between(
            "delivered_on", receipt.delivered_on, self._issued_on, "the notification was issued"
        )

    @workflow.update
    async def record_mail_returned(self, returned: MailReturned) -> CaseSnapshot:
        self._returned_on = returned.returned_on
        self._inspection_deadline = await self._deadline("inspection", returned.returned_on)
        self._awaiting = "inspection_act"
        self._deadline_revision += 1
        self._record(
            EventKind.MAIL_RETURNED,
            returned_on=returned.returned_on.isoformat(),
            reason=returned.reason,
            inspection_deadline=self._inspection_deadline.isoformat(),
        )
        await self._publish()
        await self._tell_staff(
            "Registered mail returned undelivered",
            f"Inspect the registered address and record an inspection act by "
            f"{self._inspection_deadline} (5 working days).",
        )
        return self._snapshot()

    @record_mail_returned.validator
    def _validate_returned(self, returned: MailReturned) -> None:
        self._require_awaiting("postal_receipt", "A returned-mail report")
        self._require_date_between(
            "returned_on", returned.returned_on, self._issued_on, "the notification was issued"
        )

    @workflow.update
    async def record_inspection_act(self, act: InspectionAct) -> CaseSnapshot:
        self._served = (act.act_date, "inspection_act", act.act_no)
        await workflow.wait_condition(lambda: self._status != AuditStatus.ISSUED)
        return self._snapshot()

    @record_inspection_act.validator
    def _validate_act(self, act: InspectionAct) -> None:
        self._require_awaiting("inspection_act", "An inspection act")
        assert self._returned_on is not None
        self._require_date_between(
            "act_date", act.act_date, self._returned_on, "the mail came back"
        )

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
    async def request_documents(self, request: DocumentRequest) -> CaseSnapshot:
        today = local_date(workflow.now())
        deadline = await self._deadline("documents", today, request.working_days)
        state = RequestState(
            id=f"R{len(self._requests) + 1}",
            items=request.items,
            requested_at=workflow.now(),
            deadline=deadline,
            requested_by=request.requested_by or self._inspector_id,
        )
        self._requests.append(state)
        self._record(
            EventKind.DOCUMENTS_REQUESTED,
            request_id=state.id,
            items=state.items,
            deadline=deadline.isoformat(),
            by=state.requested_by,
        )
        await self._publish()
        notice = await self._issue_document(
            DocumentKind.DOCUMENT_REQUEST,
            self._snapshot(),
            requested="\n".join(state.items),
            request_id=state.id,
            deadline=deadline.isoformat(),
        )
        self._background.append(asyncio.create_task(self._deliver_later(notice, deadline)))
        return self._snapshot()

    @request_documents.validator
    def _validate_request(self, request: DocumentRequest) -> None:
        self._require_status(AuditStatus.UNDER_REVIEW, "A request for documents")

    @workflow.update
    async def provide_documents(self, provided: DocumentsProvided) -> CaseSnapshot:
        state = next(r for r in self._requests if r.id == provided.request_id)
        state.answered_at = workflow.now()
        state.documents = provided.documents
        self._record(
            EventKind.DOCUMENTS_PROVIDED,
            request_id=state.id,
            documents=provided.documents,
            requested_at=state.requested_at.isoformat(),
            late=workflow.now() >= end_of_day(state.deadline),
        )
        await self._publish()
        return self._snapshot()

    @provide_documents.validator
    def _validate_provided(self, provided: DocumentsProvided) -> None:
        self._require_status(AuditStatus.UNDER_REVIEW, "Documents for a request")
        state = next((r for r in self._requests if r.id == provided.request_id), None)
        if state is None:
            raise ApplicationError(
                f"there is no document request {provided.request_id}",
                {"field": "request_id"},
                type=INVALID_INPUT,
            )
        if state.answered_at is not None:
            raise ApplicationError(
                f"request {state.id} was already answered at {state.answered_at}",
                type=WRONG_STATE,
            )

    @workflow.update
    async def reassign(self, reassignment: Reassignment) -> CaseSnapshot:
        previous = self._inspector_id
        self._inspector_id = reassignment.inspector_id
        self._record(
            EventKind.REASSIGNED,
            previous=previous,
            inspector_id=reassignment.inspector_id,
            by=reassignment.by,
        )
        await self._publish()
        return self._snapshot()

    @reassign.validator
    def _validate_reassign(self, reassignment: Reassignment) -> None:
        if self._status in TERMINAL:
            raise ApplicationError(
                f"the case is already {self._status}; it cannot be reassigned", type=WRONG_STATE
            )

    @workflow.update
    async def review(self, decision: ReviewDecision) -> CaseSnapshot:
        who = decision.decided_by or self._inspector_id
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
        self._awaiting = None
        self._record(
            EventKind.CANCELLED,
            reason=cancellation.reason,
            cancelled_by=cancellation.cancelled_by or self._inspector_id,
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

    # ---- charges and payments ---------------------------------------------------------------

    async def _assess(self, lines: list[AuditLine]) -> None:
        """Work the charges out from the declaration lines, as of the notification date."""
        try:
            assessment: Assessment = await workflow.execute_activity(
                ASSESS_CHARGES,
                AssessRequest(lines=lines, notification_date=self._issued_on),
                result_type=Assessment,
                start_to_close_timeout=courier.ACTIVITY_TIMEOUT,
                retry_policy=courier.DURABLE,
            )
        except ActivityError as error:
            if self._status == AuditStatus.ISSUED:
                reason = f"charges could not be assessed: {error.cause or error}"
                self._cancel_reason = reason
                self._move(AuditStatus.CANCELLED)
                self._record(EventKind.CANCELLED, reason=reason, cancelled_by="system")
                await self._publish()
            return
        self._assessment = assessment
        self._charges = assessment.charges
        self._record(
            EventKind.CHARGES_ASSESSED,
            lines=len(assessment.lines),
            amount_due=str(assessment.charges.total),
            penalty=str(assessment.penalty),
        )
        await self._settle()
        await self._publish()

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

    # ---- serving the notification -----------------------------------------------------------

    async def _serve_through_cabinet(self) -> None:
        """Placement in the cabinet is legal delivery: the deadline runs from today."""
        delivered_on = local_date(workflow.now())
        deadline = await self._deadline("response", delivered_on)
        draft = self._snapshot().model_copy(
            update={"delivered_on": delivered_on, "response_deadline": deadline}
        )
        notification, memo = await self._issue_notification(draft)
        for document in (memo, notification):
            courier.record_outcome(
                self._record,
                document,
                await courier.to_cabinet(self._start.audit_id, self._start.party.bin, document),
            )
        if self._status != AuditStatus.ISSUED:
            return  # cancelled while the notice was being served
        self._enter_response_period(delivered_on, deadline, "cabinet", notification.number)
        await self._settle_and_check()
        await self._publish()
        self._alert_in_background(notification, deadline)

    async def _serve_by_registered_mail(self) -> None:
        """On paper: wait for the postal receipt, or for an inspection act after returned mail."""
        notification, memo = await self._issue_notification(self._snapshot())
        for document in (notification, memo):
            courier.record_outcome(
                self._record,
                document,
                await courier.by_registered_mail(self._start.audit_id, self._start.party, document),
            )
        if self._status != AuditStatus.ISSUED:
            return
        self._awaiting = "postal_receipt"
        await self._publish()
        self._alert_in_background(notification, None)
        inspection_flagged = False
        while self._served is None and self._status == AuditStatus.ISSUED:
            if self._awaiting == "inspection_act" and not inspection_flagged:
                assert self._inspection_deadline is not None
                on_time = await self._wait_until(
                    self._awaiting_changed, end_of_day(self._inspection_deadline)
                )
                if not on_time:
                    inspection_flagged = True
                    self._record(
                        EventKind.INSPECTION_OVERDUE,
                        inspection_deadline=self._inspection_deadline.isoformat(),
                    )
                    await self._publish()
                    await self._tell_staff(
                        "Inspection act overdue",
                        f"No inspection act was recorded by {self._inspection_deadline}.",
                    )
            else:
                await workflow.wait_condition(
                    functools.partial(self._served_or_awaiting_other_than, self._awaiting)
                )
        if self._served is None or self._status != AuditStatus.ISSUED:
            return
        served_on, how, reference = self._served
        deadline = await self._deadline("response", served_on)
        if self._status != AuditStatus.ISSUED:
            return
        self._awaiting = None
        self._enter_response_period(served_on, deadline, how, reference)
        await self._settle_and_check()
        await self._publish()

    def _awaiting_changed(self) -> bool:
        return self._served is not None or self._status != AuditStatus.ISSUED

    def _served_or_awaiting_other_than(self, awaiting: str | None) -> bool:
        return self._awaiting_changed() or self._awaiting != awaiting

    async def _issue_notification(
        self, case: CaseSnapshot
    ) -> tuple[RenderedDocument, RenderedDocument]:
        memo = await self._issue_document(DocumentKind.MEMO, case)
        notification = await self._issue_document(
            DocumentKind.NOTIFICATION, case, memo_number=memo.number
        )
        return notification, memo

    def _enter_response_period(
        self, delivered_on: date, deadline: date, channel: str, reference: str
    ) -> None:
        self._delivered_on = delivered_on
        self._response_deadline = deadline
        self._move(AuditStatus.AWAITING_RESPONSE)
        self._record(
            EventKind.DELIVERED,
            channel=channel,
            reference=reference,
            delivered_on=delivered_on.isoformat(),
            response_deadline=deadline.isoformat(),
        )

    # ---- the response and review periods ----------------------------------------------------

    async def _await_response(self) -> None:
        answered = await self._wait_while(AuditStatus.AWAITING_RESPONSE, "response")
        if answered:
            return
        if self._explanation is not None:
            # The explanation arrived on time and its handler is still finishing.
            await workflow.wait_condition(lambda: self._status != AuditStatus.AWAITING_RESPONSE)
            return
        self._move(AuditStatus.UNFULFILLED)
        self._record(
            EventKind.DECISION_UNFULFILLED,
            reason="no payment and no explanation by the response deadline",
        )
        await self._publish()

    async def _await_review(self) -> None:
        if await self._wait_while(AuditStatus.UNDER_REVIEW, "review"):
            return
        self._overdue = True
        self._record(EventKind.REVIEW_OVERDUE, review_deadline=str(self._review_deadline))
        self._record(EventKind.ESCALATED, customs_office=self._start.customs_office)
        await self._publish()
        await self._tell_staff(
            "Review of an explanation is overdue",
            f"The 10-working-day review ended on {self._review_deadline}; the supervisor must "
            "decide the case.",
        )
        await workflow.wait_condition(lambda: self._status != AuditStatus.UNDER_REVIEW)

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

    async def _remind(self) -> None:
        """Remind the party N working days before the response deadline (REMINDER_WORKING_DAYS)."""
        sent: set[date] = set()
        while self._status == AuditStatus.AWAITING_RESPONSE:
            revision = self._deadline_revision
            assert self._response_deadline is not None
            days: list[ReminderDay] = await workflow.execute_activity(
                COMPUTE_REMINDERS,
                self._response_deadline,
                result_type=list[ReminderDay],
                start_to_close_timeout=courier.ACTIVITY_TIMEOUT,
                retry_policy=courier.DURABLE,
            )
            changed = functools.partial(self._moved_on, AuditStatus.AWAITING_RESPONSE, revision)
            for reminder in days:
                at = datetime.combine(reminder.day, REMINDER_TIME, tzinfo=ALMATY)
                if reminder.day in sent or at <= workflow.now():
                    continue
                if await self._wait_until(changed, at):
                    break
                sent.add(reminder.day)
                document = await self._issue_document(
                    DocumentKind.REMINDER,
                    self._snapshot(),
                    working_days_left=str(reminder.working_days_left),
                )
                await self._deliver_later(document, self._response_deadline)
            else:
                await workflow.wait_condition(changed)

    # ---- documents of the outcome -----------------------------------------------------------

    async def _issue_outcome(self) -> None:
        if self._status == AuditStatus.EXPLANATION_ACCEPTED:
            document = await self._issue_document(DocumentKind.ACCEPTANCE, self._snapshot())
        elif self._status == AuditStatus.UNFULFILLED:
            today = local_date(workflow.now())
            appeal_deadline = await self._deadline("appeal", today)
            document = await self._issue_document(
                DocumentKind.DECISION,
                self._snapshot(),
                reasons=self._decision_reasons or "",
                appeal_deadline=appeal_deadline.isoformat(),
            )
        else:
            return
        await self._deliver_later(document, None)

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

    async def _deliver_later(self, document: RenderedDocument, deadline: date | None) -> None:
        """A later document of a served case: the same legal channel, then the alerts.

        A reminder is only an alert, so a party served on paper gets it without a letter.
        """
        if self._start.delivery_method == DeliveryMethod.CABINET:
            outcome = await courier.to_cabinet(
                self._start.audit_id, self._start.party.bin, document
            )
            courier.record_outcome(self._record, document, outcome)
        elif document.kind != DocumentKind.REMINDER:
            outcome = await courier.by_registered_mail(
                self._start.audit_id, self._start.party, document
            )
            courier.record_outcome(self._record, document, outcome)
        await self._publish()
        await self._alert(document, deadline)

    def _alert_in_background(self, document: RenderedDocument, deadline: date | None) -> None:
        self._background.append(asyncio.create_task(self._alert(document, deadline)))

    async def _alert(self, document: RenderedDocument, deadline: date | None) -> None:
        outcomes = await courier.alert(self._start.audit_id, self._start.party, document, deadline)
        for outcome in outcomes:
            courier.record_outcome(self._record, document, outcome)
        if courier.every_alert_failed(outcomes):
            self._alerts_failed = True
            self._record(EventKind.ALERTS_FAILED, document=document.number)
            await self._tell_staff(
                "The party could not be alerted",
                f"Every electronic channel failed for {document.number}; contact the party.",
            )
        await self._publish()

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
