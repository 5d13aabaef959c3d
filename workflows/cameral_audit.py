"""The `CameralAudit` workflow: one durable case from notification to final decision.

The main coroutine owns the deadlines (service of the notification, 20 working days to
respond, 10 to review); updates and signals change the case as users act. Every change
appends an event, bumps the version, refreshes the search attributes and is written to the
read model by an activity. The state and its shared steps are in `workflows/case_state.py`,
serving and paperwork in `workflows/service.py`, single activities in `workflows/courier.py`.
"""

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.errors import INVALID_INPUT, WRONG_STATE
from workflows.service import CaseService

with workflow.unsafe.imports_passed_through():
    from domain.case import (
        AuditStart,
        Cancellation,
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
    from domain.clock import end_of_day, local_date
    from domain.lifecycle import TERMINAL, AuditStatus, EventKind
    from domain.notices import DeliveryMethod, DocumentKind


@workflow.defn(name="CameralAudit")
class CameralAudit(CaseService):
    @workflow.init
    def __init__(self, start: AuditStart) -> None:
        super().__init__(start)

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
