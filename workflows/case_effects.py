"""What the events of a case ask the workflow to do: wait for a date or a person, count a
deadline, issue a document under its reserved number, serve it through the case's legal
channel and alert the party. Built on CaseShell, which holds the state and the read model."""

import asyncio
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import courier
from workflows.case_shell import CaseShell
from workflows.versions import HANDOVER_STOPS_WAITS, since

with workflow.unsafe.imports_passed_through():
    from domain.clock import ALMATY, local_date
    from domain.lifecycle import EventKind
    from domain.notices import DeliveryMethod, DocumentKind
    from domain.tasks import (
        COMPUTE_DEADLINE,
        DeadlineKind,
        DeadlineRequest,
        DeliveryOutcome,
        RenderedDocument,
    )

OFFICE_OPENS = time(9, 0)  # a decision taken on a day off is issued then, next working day


class CaseEffects(CaseShell):
    # ---- waiting ----------------------------------------------------------------------------

    async def _wait_until(self, condition: Callable[[], bool], instant: datetime) -> bool:
        """Wait for `condition` until `instant`; False if the instant came first."""
        if condition():
            return True
        remaining = instant - workflow.now()
        if remaining <= timedelta(0):
            return False
        try:
            with self._rest():
                await workflow.wait_condition(condition, timeout=remaining)
        except TimeoutError:
            return bool(condition())
        return True

    async def _count(
        self, kind: DeadlineKind, counted_from: date, working_days: int | None = None
    ) -> date:
        """A deadline counted by an activity (it reads the calendar's decree overrides), so a
        later calendar change never changes a replay."""
        request = DeadlineRequest(kind=kind, counted_from=counted_from, working_days=working_days)
        return await self._steps.run(COMPUTE_DEADLINE, request, date)

    async def _until_a_working_day(self) -> None:
        """Decisions are dated on working days: one taken on a day off is issued, delivered
        and counted from (the appeal period) at the start of the next working day."""
        while (day := await self._count("dated", self._today())) != self._today():
            # Asked again on waking: a decree may have made that day a day off meanwhile.
            with self._rest():
                await workflow.sleep(
                    datetime.combine(day, OFFICE_OPENS, tzinfo=ALMATY) - workflow.now()
                )

    def _time_to_hand_over(self) -> bool:
        """Temporal suggests continuing as new, and no alert is being retried: an alert may
        retry for a day while a gateway is down, and the main flow would wait for it in the
        handover instead of keeping the case's dates."""
        suggested = workflow.info().is_continue_as_new_suggested()
        if not suggested or not since(HANDOVER_STOPS_WAITS):
            return suggested
        return not self._state.alerts_retrying

    def _today(self) -> date:
        return local_date(workflow.now())

    # ---- documents and messages -------------------------------------------------------------

    async def _issue(
        self, kind: DocumentKind, number: str, **extra: str
    ) -> RenderedDocument | None:
        """Render a document under a number already taken; None (staff told) if it cannot be
        rendered at all, so the case can still move on."""
        try:
            document = await courier.issue(kind, number, self._summary(), self._today(), **extra)
        except ActivityError as error:
            reason = str(
                error.cause.message if isinstance(error.cause, ApplicationError) else error
            )
            self._note(
                EventKind.DOCUMENT_FAILED, document=number, document_kind=str(kind), reason=reason
            )
            await self._tell_staff(
                f"document_failed:{number}",
                "A document could not be issued",
                f"{number} ({kind}) failed: {reason}",
            )
            return None
        self._note(
            EventKind.DOCUMENT_ISSUED,
            document=document.number,
            document_kind=str(kind),
            document_id=document.document_id,
            sha256=document.sha256,
        )
        return document

    async def _deliver_later(self, document: RenderedDocument, deadline: date | None) -> None:
        """A document of a served case: the same legal channel, then the alerts. A reminder is
        only an alert, so a party served on paper gets it without a letter."""
        await self._serve_legally(document)
        await self._alert(document, deadline)

    async def _serve_legally(self, document: RenderedDocument) -> DeliveryOutcome | None:
        """The legal channel of a served case: the cabinet, or a letter (a document handed
        over is handed by a person: nothing to run here)."""
        start = self._state.start
        if start.delivery_method == DeliveryMethod.CABINET:
            outcome = await courier.to_cabinet(start.audit_id, start.party.bin, document)
        elif (
            start.delivery_method == DeliveryMethod.REGISTERED_MAIL
            and document.kind != DocumentKind.REMINDER
        ):
            outcome = await courier.by_registered_mail(start.audit_id, start.party, document)
        else:
            return None
        courier.record_outcome(self._note, document, outcome)
        return outcome

    def _alert_in_background(self, document: RenderedDocument, deadline: date | None) -> None:
        self._background.append(asyncio.create_task(self._alert(document, deadline)))

    def _in_background(self, step: Any) -> None:
        self._background.append(asyncio.create_task(step))

    async def _alert(self, document: RenderedDocument, deadline: date | None) -> None:
        start = self._state.start
        outcomes = await courier.alert(
            start.audit_id,
            start.party,
            document,
            deadline,
            lambda channel, detail: self._note(
                EventKind.ALERT_RETRYING,
                document=document.number,
                channel=str(channel),
                detail=detail,
            ),
            lambda outcome: courier.record_outcome(self._note, document, outcome),
        )
        if courier.every_alert_failed(outcomes):
            self._note(EventKind.ALERTS_FAILED, document=document.number)
            await self._tell_staff(
                f"alerts_failed:{document.number}",
                "The party could not be alerted",
                f"Every electronic channel failed for {document.number}; contact the party.",
            )
