"""Serving the notification and the paperwork around the case: charges worked out from
declaration lines, delivery through the cabinet or by registered mail, reminders, and the
documents of the outcome. Each step is an activity through `workflows/courier.py`.
"""

import asyncio
import functools
from datetime import date, datetime, time

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import courier
from workflows.case_state import CaseState

with workflow.unsafe.imports_passed_through():
    from domain.assessment import Assessment, AuditLine
    from domain.case import (
        CaseSnapshot,
    )
    from domain.clock import ALMATY, end_of_day, local_date
    from domain.lifecycle import AuditStatus, EventKind
    from domain.notices import DeliveryMethod, DocumentKind
    from domain.tasks import (
        ASSESS_CHARGES,
        COMPUTE_REMINDERS,
        AssessRequest,
        ReminderDay,
        RenderedDocument,
    )

REMINDER_TIME = time(9, 0)  # reminders go out at the start of the Almaty working day


class CaseService(CaseState):
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
