"""The periods a case walks through, as the `CameralAudit` workflow runs them: its terms,
service (cabinet, registered mail, hand delivery, inspection after returned mail), the 20
working days to respond and 10 to review with their reminders and timers, and the outcome
issued on a working day. Each timer becomes a "deadline passed" command for the rules."""

import functools
from datetime import date, datetime, time

from temporalio import workflow

from workflows import courier
from workflows.case_consequences import CONSEQUENCES
from workflows.case_effects import CaseEffects
from workflows.local_steps import StepFailed
from workflows.versions import since

with workflow.unsafe.imports_passed_through():
    from domain.case_commands import (
        DeadlinePassed,
        DeliverDecision,
        DispatchMail,
        FixTerms,
        PlaceInCabinet,
        PrepareHandover,
        Remind,
        SetDeadline,
        TermsFailed,
    )
    from domain.clock import ALMATY, close_of_business, end_of_day
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
OUTCOME_ON_WORKING_DAY = "outcome-issued-on-a-working-day"
# Patches of commands, newest last (replayed histories without them take the old path).
POSTING_LAG = "decision-on-silence-after-posting-lag"


class CasePeriods(CaseEffects):
    async def _fix_terms(self) -> None:
        """The rate tables the case runs on, and its charges when it was started from lines."""
        start = self._state.start
        try:
            request = TermsRequest(lines=start.lines, notification_date=self._state.issued_on)
            terms = await self._steps.run(FIX_TERMS, request, CaseTerms)
        except StepFailed as failure:
            self._apply(TermsFailed(failure.reason))
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
            with self._rest():
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
                with self._rest():
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
        with self._rest():
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
                instant = close_of_business(state.decision_due)
            elif state.response_deadline is not None:
                instant = end_of_day(state.response_deadline)
        elif state.status == AuditStatus.UNDER_REVIEW and not state.overdue:
            name = "review"
            instant = end_of_day(state.review_deadline) if state.review_deadline else None
        watched = (state.status, state.response_deadline, state.decision_due, state.review_deadline)
        version = state.event_count

        def moved() -> bool:
            now = self._state
            if self._time_to_hand_over():
                return True
            now_watched = (now.status, now.response_deadline, now.decision_due, now.review_deadline)
            return now_watched != watched or (not name and now.event_count != version)

        if instant is None:
            with self._rest():
                await workflow.wait_condition(moved)
            return
        if await self._wait_until(moved, instant):
            return
        if name == "response" and state.decision_due is None and since(POSTING_LAG):
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
        while self._state.status == AuditStatus.AWAITING_RESPONSE and not self._handing_over:
            deadline = self._state.response_deadline
            assert deadline is not None
            days = await self._steps.run(COMPUTE_REMINDERS, deadline, list[ReminderDay])

            def changed(deadline: date = deadline) -> bool:
                state = self._state
                return (
                    state.status != AuditStatus.AWAITING_RESPONSE
                    or state.response_deadline != deadline
                    or self._handing_over
                )

            for reminder in days:
                at = datetime.combine(reminder.day, REMINDER_TIME, tzinfo=ALMATY)
                if reminder.day in self._state.reminders_sent or at <= workflow.now():
                    continue
                if await self._wait_until(changed, at) and not self._due_at_handover(at):
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
                with self._rest():
                    await workflow.wait_condition(changed)

    def _due_at_handover(self, at: datetime) -> bool:
        """The reminder's hour came as the run began handing over: it is sent by this run
        (the next would find its hour past and skip it)."""
        return self._handing_over and workflow.now() >= at

    async def _issue_outcome(self) -> None:
        state = self._state
        # An explanation accepted in part whose rest was already paid ends FULFILLED, and
        # the party is told which declarations were accepted.
        paid_rest = (
            state.status == AuditStatus.FULFILLED
            and bool(state.accepted_declarations)
            and DocumentKind.ACCEPTANCE not in state.documents_issued
        )
        decided = state.status in (AuditStatus.EXPLANATION_ACCEPTED, AuditStatus.UNFULFILLED)
        if not decided and not paid_rest:
            return
        if state.decision_number is not None:
            return  # issued by the run this one continues
        if since(OUTCOME_ON_WORKING_DAY):
            await self._until_a_working_day()
        state = self._state
        if state.status in (AuditStatus.EXPLANATION_ACCEPTED, AuditStatus.FULFILLED):
            document = await self._issue(
                DocumentKind.ACCEPTANCE,
                state.next_number(DocumentKind.ACCEPTANCE),
                accepted="\n".join(state.accepted_declarations),
                rejected="\n".join(state.rejected_declarations),
            )
        elif state.status == AuditStatus.UNFULFILLED:
            appeal_deadline = await self._count("appeal", self._today())
            document = await self._issue(
                DocumentKind.DECISION,
                state.next_number(DocumentKind.DECISION),
                reasons=state.decision_reasons or "",
                appeal_deadline=appeal_deadline.isoformat(),
                accepted="\n".join(state.accepted_declarations),
                rejected="\n".join(state.rejected_declarations),
            )
        else:
            return
        if document is None:
            return
        if document.kind == DocumentKind.DECISION and since(CONSEQUENCES):
            # The appeal period counts from the decision's delivery: the placement in the
            # cabinet is delivery; a letter or a handover waits for its receipt.
            served = await self._serve_legally(document)
            if served is not None and served.delivered_on is not None:
                self._apply(DeliverDecision(document.number, served.delivered_on))
            self._alert_in_background(document, None)
            return
        await self._deliver_later(document, None)
