"""The `CameralAudit` workflow: one durable case from notification to final decision.

The rules live in `domain/case_rules.py`; the workflow only decides *when* to ask them:
the main coroutine walks the case through its periods (terms, service, 20 working days to
respond, 10 to review, the outcome; `workflows/case_periods.py`), which turn each timer
into a "deadline passed" command; here, updates and signals turn users' requests into
commands. Validators ask the rules without
changing anything; handlers apply the events before their first `await`, then run the
effects (documents, deadlines, alerts) through activities.
"""

import asyncio
from datetime import date, timedelta
from typing import Literal, NoReturn

from temporalio import workflow

from workflows.case_consequences import CONSEQUENCES, CaseConsequences
from workflows.case_periods import CasePeriods
from workflows.versions import HANDOVER_STOPS_WAITS, ask_first, since

with workflow.unsafe.imports_passed_through():
    from domain.case import (
        AuditStart,
        Cancellation,
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
    )
    from domain.case_commands import (
        Cancel,
        DecideAppeal,
        DecideRevocation,
        FileAppeal,
        ProvideDocuments,
        Reassign,
        RecordInspectionAct,
        RecordPayment,
        RecordReceipt,
        RecordReturned,
        RequestDocuments,
        Review,
        SetDeadline,
        SubmitExplanation,
    )
    from domain.case_state import initial_state, with_quoted_facts
    from domain.case_view import snapshot
    from domain.consequences import Appeal, AppealOutcome
    from domain.lifecycle import AuditStatus, EventKind
    from domain.notices import DocumentKind
    from workflows.messages import CarriedCase, PaymentResult, ReviewOrder, RevocationOrder


# How long a handover may refuse updates: well within the API's wait for an update (10 s).
HANDOVER_PATIENCE = timedelta(seconds=5)


@workflow.defn(name="CameralAudit")
class CameralAudit(CasePeriods, CaseConsequences):
    @workflow.init
    def __init__(self, start: AuditStart, carried: CarriedCase | None = None) -> None:
        self._init_shell()
        ask_first()  # before anything else, so its marker has one place in every run
        if carried is not None:
            self._state, self._events, self._published, self._first_index = (
                carried.state,
                list(carried.events),
                carried.published,
                carried.first_index,
            )
            if carried.first_index == 0:
                self._state = with_quoted_facts(self._state, self._events)
            self._initial = None
            return
        self._state = self._initial = initial_state(start, self._today())
        self._events = []
        self._published = self._first_index = 0
        self._note(
            EventKind.STARTED,
            inspector_id=start.inspector_id,
            customs_office=start.customs_office,
            amount_due=str(start.charges.total) if start.charges else None,
            lines=len(start.lines or []),
            delivery_method=str(start.delivery_method),
        )

    @workflow.run  # started with args=[start, None]: Temporal types arguments only if all come
    async def run(self, start: AuditStart, carried: CarriedCase | None = None) -> CaseSummary:
        """Ends with the case's summary: its trail, payments and requests stay in the read
        model and the `snapshot` query (which answers for a closed case too), not in the
        result, which would hold them a second time in the history."""
        self._running = True
        self._publish_all()
        if not self._state.terms_fixed:
            await self._fix_terms()
        if self._state.status == AuditStatus.ISSUED:
            await self._serve()
        if self._state.status == AuditStatus.AWAITING_RESPONSE:
            self._in_background(self._remind())
        while self._state.open:
            await self._wait_for_next_period()
            if self._time_to_hand_over():
                await self._hand_over(start)
        await self._issue_outcome()
        after_decision = (AuditStatus.UNFULFILLED, AuditStatus.APPEALED)
        # A revocation taken just before the last run continued leaves its notice to issue.
        to_follow = self._state.status in after_decision or self._pending_documents()
        following = to_follow and since(CONSEQUENCES)
        if following and await self._follow_up():
            await self._hand_over(start)
        await self._drain()
        return self._summary()

    # ---- queries, signals and updates -------------------------------------------------------

    @workflow.query
    def snapshot(self) -> CaseSnapshot:
        return snapshot(self._state, self._events, self._first_index)

    @workflow.update
    def record_payment(self, payment: Payment) -> PaymentResult:
        """A treasury posting, answered at once: accepted, a duplicate, or the case is closed."""
        kinds = {e.kind for e in self._apply(self._payment(payment))}
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
        self._check_admitted()

    @workflow.signal
    def post_payment(self, payment: Payment) -> None:
        """The same posting as a signal, kept by Temporal while no worker runs."""
        self._apply(self._payment(payment))

    def _payment(self, payment: Payment) -> RecordPayment:
        """A case decided before the follow-up existed took no payment after its decision
        (closed): it replays so."""
        decided = self._state.status in (AuditStatus.UNFULFILLED, AuditStatus.APPEALED)
        return RecordPayment(payment, not decided or since(CONSEQUENCES))

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
        if state.appeal_deadline and state.decision_delivered_on and not state.final_on:
            counts.append(("appeal", state.decision_delivered_on, None))
        if state.suspension_due and state.final_on and not state.suspension_number:
            counts.append(("suspension", state.final_on, None))
        for name, counted_from, _ in counts:
            day = await self._count(name, counted_from)  # type: ignore[arg-type]
            self._apply(SetDeadline(name, day, reason="calendar"))  # type: ignore[arg-type]

    @workflow.update
    async def record_postal_receipt(self, receipt: PostalReceipt) -> CaseSummary:
        """The receipt of the notification starts the response period; that of a decision
        the appeal period (counted by the follow-up)."""
        self._apply(RecordReceipt(receipt))
        if self._state.decision_number is None:
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
        if self._state.decision_number is None:  # a decision's: the follow-up counts on
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

    @workflow.update
    def file_appeal(self, appeal: Appeal) -> CaseSummary:
        self._apply(FileAppeal(appeal))
        return self._summary()

    @file_appeal.validator
    def _validate_appeal(self, appeal: Appeal) -> None:
        self._check(FileAppeal(appeal))

    @workflow.update
    def decide_appeal(self, outcome: AppealOutcome) -> CaseSummary:
        self._apply(DecideAppeal(outcome))
        return self._summary()

    @decide_appeal.validator
    def _validate_appeal_outcome(self, outcome: AppealOutcome) -> None:
        self._check(DecideAppeal(outcome))

    @workflow.update
    def decide_revocation(self, request: RevocationOrder) -> CaseSummary:
        self._apply(DecideRevocation(request.decision, request.role))
        return self._summary()

    @decide_revocation.validator
    def _validate_revocation(self, request: RevocationOrder) -> None:
        self._check(DecideRevocation(request.decision, request.role))

    # ---- a case that lives for months -------------------------------------------------------

    async def _hand_over(self, start: AuditStart) -> NoReturn:
        """Continue as new once every handler and step of this run has finished. Steps that
        only wait for a date (reminders) stop waiting; the next run takes them up. New
        updates are refused meanwhile (`_check_admitted`), since under steady traffic the run
        would never be idle, but for HANDOVER_PATIENCE at a time: steps and handlers that take
        longer (a slow gateway) are waited for taking updates, then the refusal starts again."""
        if since(HANDOVER_STOPS_WAITS):
            self._handing_over = True
            while True:
                self._refusing = True
                self._publish_all()
                try:
                    await workflow.wait_condition(self._idle, timeout=HANDOVER_PATIENCE)
                    break
                except TimeoutError:
                    self._refusing = False
                    await asyncio.gather(*self._under_way())
                    await workflow.wait_condition(workflow.all_handlers_finished)
        await self._drain()
        workflow.continue_as_new(args=[start, self._carry()])

    def _carry(self) -> CarriedCase:
        unpublished = self._events[self._published - self._first_index :]
        return CarriedCase(
            state=self._state,
            events=unpublished,
            published=self._published,
            first_index=self._published,
        )
