"""The `CameralAudit` workflow: one durable case from notification to final decision.

The rules live in `domain/case_rules.py`; this module only decides *when* to ask them:
the main coroutine walks the case through its periods (terms, service, 20 working days to
respond, 10 to review, the outcome) and turns each timer into a "deadline passed" command;
updates and signals turn users' requests into commands. Validators ask the rules without
changing anything; handlers apply the events before their first `await`, then run the
effects (documents, deadlines, alerts) through activities.
"""

import functools
from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import courier
from workflows.case_shell import CaseShell

with workflow.unsafe.imports_passed_through():
    from domain.case import (
        AuditStart,
        Cancellation,
        CaseEvent,
        CaseSnapshot,
        CaseSummary,
        DocumentRequest,
        DocumentsProvided,
        Explanation,
        InspectionAct,
        MailReturned,
        Payment,
        PostalReceipt,
        Reassignment,
        ReviewDecision,
    )
    from domain.case_commands import (
        Cancel,
        DeadlinePassed,
        DispatchMail,
        FixTerms,
        PlaceInCabinet,
        PrepareHandover,
        ProvideDocuments,
        Reassign,
        RecordInspectionAct,
        RecordPayment,
        RecordReceipt,
        RecordReturned,
        Remind,
        RequestDocuments,
        Review,
        SetDeadline,
        SubmitExplanation,
        TermsFailed,
    )
    from domain.case_rules import decision_time
    from domain.case_state import CaseState, initial_state
    from domain.case_view import snapshot
    from domain.clock import ALMATY, end_of_day
    from domain.lifecycle import AuditStatus, EventKind
    from domain.notices import DeliveryMethod, DocumentKind
    from domain.tasks import (
        COMPUTE_REMINDERS,
        FIX_TERMS,
        CaseTerms,
        ReminderDay,
        TermsRequest,
    )

REMINDER_TIME = time(9, 0)  # reminders go out at the start of the Almaty working day
OFFICE_OPENS = time(9, 0)  # a decision taken on a day off is issued then, next working day
OUTCOME_ON_WORKING_DAY = "outcome-issued-on-a-working-day"
# Patches of commands, newest last (replayed histories without them take the old path).
POSTING_LAG = "decision-on-silence-after-posting-lag"


class CarriedCase(BaseModel):
    """What a run hands to the next one when the history grows long (continue-as-new)."""

    state: CaseState
    events: list[CaseEvent]
    published: int


class ReviewOrder(BaseModel):
    """A review decision with the role of whoever takes it (overdue reviews: supervisors)."""

    decision: ReviewDecision
    role: str = "inspector"


class PaymentResult(BaseModel):
    result: Literal["accepted", "duplicate", "closed"]
    status: AuditStatus


@workflow.defn(name="CameralAudit")
class CameralAudit(CaseShell):
    @workflow.init
    def __init__(self, start: AuditStart, carried: CarriedCase | None = None) -> None:
        self._init_shell()
        if carried is not None:
            self._state, self._events, self._published = (
                carried.state,
                list(carried.events),
                carried.published,
            )
            self._initial = None
            return
        self._state = self._initial = initial_state(start, self._today())
        self._events = []
        self._published = 0
        self._note(
            EventKind.STARTED,
            inspector_id=start.inspector_id,
            customs_office=start.customs_office,
            amount_due=str(start.charges.total) if start.charges else None,
            lines=len(start.lines or []),
            delivery_method=str(start.delivery_method),
        )

    @workflow.run  # started with args=[start, None]: Temporal types arguments only if all come
    async def run(self, start: AuditStart, carried: CarriedCase | None = None) -> CaseSnapshot:
        if not self._state.terms_fixed:
            await self._fix_terms()
        if self._state.status == AuditStatus.ISSUED:
            await self._serve()
        if self._state.status == AuditStatus.AWAITING_RESPONSE:
            self._in_background(self._remind())
        while self._state.open:
            await self._wait_for_next_period()
            if self._continue_as_new_suggested():
                await self._drain()
                workflow.continue_as_new(args=[start, self._carry()])
        await self._issue_outcome()
        await self._drain()
        return snapshot(self._state, self._events)

    # ---- queries, signals and updates -------------------------------------------------------

    @workflow.query
    def snapshot(self) -> CaseSnapshot:
        return snapshot(self._state, self._events)

    @workflow.update
    def record_payment(self, payment: Payment) -> PaymentResult:
        """A treasury posting, answered at once: accepted, a duplicate, or the case is closed."""
        kinds = {e.kind for e in self._apply(RecordPayment(payment))}
        result: Literal["accepted", "duplicate", "closed"] = (
            "accepted"
            if EventKind.PAYMENT_RECEIVED in kinds
            else "duplicate"
            if EventKind.PAYMENT_DUPLICATE in kinds
            else "closed"
        )
        return PaymentResult(result=result, status=self._state.status)

    @record_payment.validator
    def _validate_payment(self, payment: Payment) -> None:
        self._check_not_expired()

    @workflow.signal
    def post_payment(self, payment: Payment) -> None:
        """The same posting as a signal, kept by Temporal while no worker runs."""
        self._apply(RecordPayment(payment))

    @workflow.signal
    async def calendar_changed(self) -> None:
        """A decree changed the working-day calendar: recount every deadline still running."""
        state = self._state
        counts: list[tuple[str, date, str | None]] = []
        if state.status == AuditStatus.AWAITING_RESPONSE and state.delivered_on:
            counts.append(("response", state.delivered_on, None))
        if state.status == AuditStatus.UNDER_REVIEW and state.explanation_received_on:
            counts.append(("review", state.explanation_received_on, None))
        if state.awaiting == "inspection_act" and state.returned_on:
            counts.append(("inspection", state.returned_on, None))
        for name, counted_from, _ in counts:
            day = await self._count(name, counted_from)  # type: ignore[arg-type]
            self._apply(SetDeadline(name, day, reason="calendar"))  # type: ignore[arg-type]

    @workflow.update
    async def record_postal_receipt(self, receipt: PostalReceipt) -> CaseSummary:
        self._apply(RecordReceipt(receipt))
        await self._start_response_period()
        return self._summary()

    @record_postal_receipt.validator
    def _validate_receipt(self, receipt: PostalReceipt) -> None:
        self._check(RecordReceipt(receipt))

    @workflow.update
    async def record_mail_returned(self, returned: MailReturned) -> CaseSummary:
        self._apply(RecordReturned(returned))
        day = await self._count("inspection", returned.returned_on)
        self._apply(SetDeadline("inspection", day))
        await self._tell_staff(
            f"mail_returned:{returned.returned_on}",
            "Registered mail returned undelivered",
            f"Inspect the registered address and record an inspection act by {day} "
            "(5 working days).",
        )
        return self._summary()

    @record_mail_returned.validator
    def _validate_returned(self, returned: MailReturned) -> None:
        self._check(RecordReturned(returned))

    @workflow.update
    async def record_inspection_act(self, act: InspectionAct) -> CaseSummary:
        self._apply(RecordInspectionAct(act))
        await self._start_response_period()
        return self._summary()

    @record_inspection_act.validator
    def _validate_act(self, act: InspectionAct) -> None:
        self._check(RecordInspectionAct(act))

    @workflow.update
    async def submit_explanation(self, explanation: Explanation) -> CaseSummary:
        self._apply(SubmitExplanation(explanation))
        received_on = self._state.explanation_received_on
        if received_on is not None:
            self._apply(SetDeadline("review", await self._count("review", received_on)))
        return self._summary()

    @submit_explanation.validator
    def _validate_explanation(self, explanation: Explanation) -> None:
        self._check(SubmitExplanation(explanation))

    @workflow.update
    async def request_documents(self, request: DocumentRequest) -> CaseSummary:
        self._apply(RequestDocuments(request))
        reserved = self._state.requests[-1]
        deadline = await self._count("documents", self._today(), request.working_days)
        self._apply(SetDeadline("documents", deadline, request_id=reserved.id))
        notice = await self._issue(
            DocumentKind.DOCUMENT_REQUEST,
            reserved.number,
            requested="\n".join(reserved.items),
            request_id=reserved.id,
            deadline=deadline.isoformat(),
        )
        if notice is not None:
            self._in_background(self._deliver_later(notice, deadline))
        return self._summary()

    @request_documents.validator
    def _validate_request(self, request: DocumentRequest) -> None:
        self._check(RequestDocuments(request))

    @workflow.update
    def provide_documents(self, provided: DocumentsProvided) -> CaseSummary:
        self._apply(ProvideDocuments(provided))
        return self._summary()

    @provide_documents.validator
    def _validate_provided(self, provided: DocumentsProvided) -> None:
        self._check(ProvideDocuments(provided))

    @workflow.update
    def reassign(self, reassignment: Reassignment) -> CaseSummary:
        self._apply(Reassign(reassignment))
        return self._summary()

    @reassign.validator
    def _validate_reassign(self, reassignment: Reassignment) -> None:
        self._check(Reassign(reassignment))

    @workflow.update
    def review(self, request: ReviewOrder) -> CaseSummary:
        self._apply(Review(request.decision, request.role))
        return self._summary()

    @review.validator
    def _validate_review(self, request: ReviewOrder) -> None:
        self._check(Review(request.decision, request.role))

    @workflow.update
    def cancel(self, cancellation: Cancellation) -> CaseSummary:
        self._apply(Cancel(cancellation))
        return self._summary()

    @cancel.validator
    def _validate_cancel(self, cancellation: Cancellation) -> None:
        self._check(Cancel(cancellation))

    # ---- the periods ------------------------------------------------------------------------

    async def _fix_terms(self) -> None:
        """The rate tables the case runs on, and its charges when it was started from lines."""
        start = self._state.start
        try:
            terms: CaseTerms = await workflow.execute_activity(
                FIX_TERMS,
                TermsRequest(lines=start.lines, notification_date=self._state.issued_on),
                result_type=CaseTerms,
                start_to_close_timeout=courier.ACTIVITY_TIMEOUT,
                retry_policy=courier.DURABLE,
            )
        except ActivityError as error:
            self._apply(TermsFailed(str(error.cause or error)))
            return
        self._apply(FixTerms(terms.base_rates, terms.penalty_terms, terms.assessment))

    async def _serve(self) -> None:
        memo = await self._issue(DocumentKind.MEMO, self._state.next_number(DocumentKind.MEMO))
        notification = await self._issue(
            DocumentKind.NOTIFICATION,
            self._state.next_number(DocumentKind.NOTIFICATION),
            memo_number=memo.number if memo else "",
        )
        if notification is None or memo is None:
            await workflow.wait_condition(lambda: not self._state.open)  # staff were told
            return
        start = self._state.start
        if start.delivery_method == DeliveryMethod.CABINET:
            for document in (memo, notification):
                outcome = await courier.to_cabinet(start.audit_id, start.party.bin, document)
                courier.record_outcome(self._note, document, outcome)
            assert outcome.delivered_on is not None
            self._apply(PlaceInCabinet(notification.number, outcome.delivered_on))
            await self._start_response_period()
            self._alert_in_background(notification, self._state.response_deadline)
            return
        if start.delivery_method == DeliveryMethod.HAND:
            self._apply(PrepareHandover((notification.number, memo.number)))
        else:
            for document in (notification, memo):
                outcome = await courier.by_registered_mail(start.audit_id, start.party, document)
                courier.record_outcome(self._note, document, outcome)
            self._apply(DispatchMail((notification.number, memo.number)))
        self._alert_in_background(notification, None)
        while self._state.status == AuditStatus.ISSUED:
            if self._state.awaiting == "inspection_act" and self._state.inspection_deadline:
                await self._watch_inspection()
            else:
                await workflow.wait_condition(
                    functools.partial(
                        self._serving_moved,
                        self._state.awaiting,
                        self._state.inspection_deadline,
                    )
                )

    def _serving_moved(self, awaiting: str | None, inspection_deadline: date | None) -> bool:
        state = self._state
        return (
            state.awaiting != awaiting
            or state.inspection_deadline != inspection_deadline
            or state.status != AuditStatus.ISSUED
        )

    async def _watch_inspection(self) -> None:
        deadline = self._state.inspection_deadline
        assert deadline is not None
        if await self._wait_until(
            lambda: (
                self._state.awaiting != "inspection_act"
                or self._state.inspection_deadline != deadline
            ),
            end_of_day(deadline),
        ):
            return
        if self._apply(DeadlinePassed("inspection")):
            await self._tell_staff(
                f"inspection_overdue:{deadline}",
                "Inspection act overdue",
                f"No inspection act was recorded by {deadline}.",
            )
        await workflow.wait_condition(
            lambda: (
                self._state.awaiting != "inspection_act"
                or self._state.inspection_deadline != deadline
            )
        )

    async def _start_response_period(self) -> None:
        """Count 20 working days from the delivery date the case already holds."""
        delivered_on = self._state.delivered_on
        if delivered_on is None:
            return
        self._apply(SetDeadline("response", await self._count("response", delivered_on)))

    async def _wait_for_next_period(self) -> None:
        """Wait until the running period ends or the case moves; a moved deadline re-arms."""
        state = self._state
        name: str = ""
        instant = None
        if state.status == AuditStatus.AWAITING_RESPONSE and state.explanation is None:
            name = "response"
            if state.decision_due is not None:
                instant = decision_time(state.decision_due)
            elif state.response_deadline is not None:
                instant = end_of_day(state.response_deadline)
        elif state.status == AuditStatus.UNDER_REVIEW and not state.overdue:
            name = "review"
            instant = end_of_day(state.review_deadline) if state.review_deadline else None
        watched = (state.status, state.response_deadline, state.decision_due, state.review_deadline)
        version = state.event_count

        def moved() -> bool:
            now = self._state
            if self._continue_as_new_suggested():
                return True
            now_watched = (now.status, now.response_deadline, now.decision_due, now.review_deadline)
            return now_watched != watched or (not name and now.event_count != version)

        if instant is None:
            await workflow.wait_condition(moved)
            return
        if await self._wait_until(moved, instant):
            return
        if name == "response" and state.decision_due is None and workflow.patched(POSTING_LAG):
            # Payments are judged by their date: wait for the treasury's posting lag first.
            assert state.response_deadline is not None
            day = await self._count("decision", state.response_deadline)
            self._apply(SetDeadline("decision", day))
            return
        passed = self._apply(DeadlinePassed(name))  # type: ignore[arg-type]
        if any(e.kind == EventKind.REVIEW_OVERDUE for e in passed):
            await self._tell_staff(
                f"review_overdue:{state.review_deadline}",
                "Review of an explanation is overdue",
                f"The 10-working-day review ended on {state.review_deadline}; the supervisor "
                "must decide the case.",
            )

    async def _remind(self) -> None:
        """Remind the party N working days before the response deadline (REMINDER_WORKING_DAYS);
        a moved deadline gives new reminder days."""
        while self._state.status == AuditStatus.AWAITING_RESPONSE:
            deadline = self._state.response_deadline
            assert deadline is not None
            days: list[ReminderDay] = await workflow.execute_activity(
                COMPUTE_REMINDERS,
                deadline,
                result_type=list[ReminderDay],
                start_to_close_timeout=courier.ACTIVITY_TIMEOUT,
                retry_policy=courier.DURABLE,
            )

            def changed(deadline: date = deadline) -> bool:
                state = self._state
                return (
                    state.status != AuditStatus.AWAITING_RESPONSE
                    or state.response_deadline != deadline
                )

            for reminder in days:
                at = datetime.combine(reminder.day, REMINDER_TIME, tzinfo=ALMATY)
                if reminder.day in self._state.reminders_sent or at <= workflow.now():
                    continue
                if await self._wait_until(changed, at):
                    break
                due = self._apply(Remind(reminder.day, reminder.working_days_left))
                if not due:
                    continue
                document = await self._issue(
                    DocumentKind.REMINDER,
                    due[0].details["number"],
                    working_days_left=str(reminder.working_days_left),
                )
                if document is not None:
                    await self._deliver_later(document, deadline)
            else:
                await workflow.wait_condition(changed)

    async def _issue_outcome(self) -> None:
        if self._state.status not in (AuditStatus.EXPLANATION_ACCEPTED, AuditStatus.UNFULFILLED):
            return
        if workflow.patched(OUTCOME_ON_WORKING_DAY):
            await self._until_a_working_day()
        state = self._state
        if state.status == AuditStatus.EXPLANATION_ACCEPTED:
            document = await self._issue(
                DocumentKind.ACCEPTANCE, state.next_number(DocumentKind.ACCEPTANCE)
            )
        elif state.status == AuditStatus.UNFULFILLED:
            appeal_deadline = await self._count("appeal", self._today())
            document = await self._issue(
                DocumentKind.DECISION,
                state.next_number(DocumentKind.DECISION),
                reasons=state.decision_reasons or "",
                appeal_deadline=appeal_deadline.isoformat(),
            )
        else:
            return
        if document is not None:
            await self._deliver_later(document, None)

    async def _until_a_working_day(self) -> None:
        """Decisions are dated on working days: one taken on a day off is issued, delivered
        and counted from (the appeal period) at the start of the next working day."""
        while (day := await self._count("dated", self._today())) != self._today():
            # Asked again on waking: a decree may have made that day a day off meanwhile.
            await workflow.sleep(
                datetime.combine(day, OFFICE_OPENS, tzinfo=ALMATY) - workflow.now()
            )

    # ---- a case that lives for months -------------------------------------------------------

    def _continue_as_new_suggested(self) -> bool:
        return workflow.info().is_continue_as_new_suggested()

    def _carry(self) -> CarriedCase:
        return CarriedCase(state=self._state, events=self._events, published=self._published)
