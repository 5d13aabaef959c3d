"""The workflow's side of a case: it holds the state value, feeds commands to the pure rules
(`domain/case_rules.py`), and runs the effects the resulting events ask for.

Every change goes through `_apply` (or `_note` for bookkeeping), synchronously, so a handler
has changed the case before its first `await`. Publishing is one background loop that writes
the summary and only the events not yet written, one activity at a time, so the read model
gets every change in order and the history grows with the case, not with its square.
"""

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import courier
from workflows.errors import EXPIRED, FORBIDDEN, HANDING_OVER, INVALID_INPUT, WRONG_STATE
from workflows.local_steps import StepFailed, run_step
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
from workflows.versions import HANDOVER_STOPS_WAITS, LOCAL_STEPS, since

with workflow.unsafe.imports_passed_through():
    from domain.case import CaseEvent, CaseSummary
    from domain.case_commands import Command
    from domain.case_rules import decide
    from domain.case_state import CaseState, event, evolve
    from domain.case_view import summary
    from domain.clock import ALMATY, end_of_day, local_date
    from domain.lifecycle import EventKind
    from domain.notices import DeliveryMethod, DocumentKind
    from domain.refusals import Refused
    from domain.tasks import (
        COMPUTE_DEADLINE,
        SAVE_PROJECTION,
        DeadlineKind,
        DeadlineRequest,
        DeliveryOutcome,
        ProjectionUpdate,
        RenderedDocument,
        StaffNotice,
    )

_REFUSAL_TYPES = {
    "wrong_state": WRONG_STATE,
    "invalid_input": INVALID_INPUT,
    "forbidden": FORBIDDEN,
}


OFFICE_OPENS = time(9, 0)  # a decision taken on a day off is issued then, next working day
# workflow.patched: events that change nothing a listing shows wait for the next write.
PROJECTION_HELD_UNTIL_REST = "projection-held-until-rest"


class CaseShell:
    _state: CaseState
    _initial: CaseState | None  # before the first event; the read model starts from it
    _events: list[CaseEvent]  # this run's, from the place `_first_index` in the trail
    _first_index: int
    _published: int  # places in the trail, like `_due`

    def _init_shell(self) -> None:
        self._background: list[asyncio.Task[None]] = []
        self._publisher: asyncio.Task[None] | None = None
        self._upserted: tuple[Any, ...] | None = None
        self._projection_rejected = False
        self._hold: bool | None = None  # asked when first needed (not in __init__: replays)
        # The read model's writer starts with the main flow, never in __init__: on replay the
        # SDK may build the workflow before it starts the main flow (when the first task holds
        # a patch), and a writer started in __init__ would then send its command first.
        self._running = False
        self._handing_over = False  # the run is about to continue as new: waits stop
        self._refusing = False  # ... and updates are refused until it is idle
        self._resting = 0  # the main flow waits for a person or a date
        self._due = 0  # events up to here are to be written without waiting for more

    # ---- changing the case ------------------------------------------------------------------

    def _check_admitted(self) -> None:
        """Refuse an update its caller stopped waiting for (the API puts that moment in the
        update's id): a request answered "unavailable" must never take effect later. Refuse
        any update while the run hands the case over to the next one: under steady traffic
        the run would otherwise never be idle enough to hand over, and the API sends the
        update again, to the next run, a moment later."""
        if self._refusing:
            raise ApplicationError(
                "the case is moving to a new run of its workflow; nothing was changed, send "
                "the request again in a moment",
                type=HANDING_OVER,
            )
        info = workflow.current_update_info()
        parts = info.id.rsplit(":", 2) if info else []
        if len(parts) == 3 and parts[2].isdigit():
            not_after = datetime.fromtimestamp(int(parts[2]) / 1000, tz=UTC)
            if workflow.now() > not_after:
                raise ApplicationError(
                    f"this request waited for a worker until {not_after:%H:%M:%S} UTC and "
                    "was given up; nothing was changed, send it again",
                    type=EXPIRED,
                )

    def _check(self, command: Command) -> None:
        """For validators: raise the refusal a user sees, change nothing."""
        self._check_admitted()
        self._decide(command)

    def _decide(self, command: Command) -> list[CaseEvent]:
        try:
            return decide(self._state, command, workflow.now())
        except Refused as refusal:
            # The reason and its values let the pages say it in the reader's language.
            raise ApplicationError(
                refusal.message,
                {
                    "field": refusal.field,
                    "reason": refusal.wording.reason,
                    "values": refusal.wording.values,
                },
                type=_REFUSAL_TYPES[refusal.code],
            ) from None

    def _apply(self, command: Command) -> list[CaseEvent]:
        """Decide and append at once; a refusal here (state moved since validation) is raised
        as the same ApplicationError a validator would have raised."""
        events = self._decide(command)
        self._append(events)
        return events

    def _note(self, kind: EventKind, **details: Any) -> None:
        self._append([event(kind, workflow.now(), **details)])

    def _append(self, events: list[CaseEvent]) -> None:
        listed = self._listed()
        for item in events:
            self._state = evolve(self._state, item)
            self._events.append(item)
            # workflow.logger adds the workflow id (the audit id) and is silent on replay
            workflow.logger.info("case event %s, now %s", item.kind, self._state.status)
        if events:
            self._upsert_search_attributes()
            if self._resting or self._listed() != listed or not self._holds():
                self._publish_all()

    def _holds(self) -> bool:
        if self._hold is None:
            self._hold = since(PROJECTION_HELD_UNTIL_REST)
        return self._hold

    def _listed(self) -> tuple[Any, ...]:
        """What the read model's listings show of the case."""
        state = self._state
        return (
            self._upserted,
            state.awaiting,
            state.delivered_on,
            state.inspection_deadline,
            state.amount_paid,
            state.alerts_failed,
            state.revocation_proposed,  # the board lists cases flagged for a supervisor
        )

    def _publish_all(self) -> None:
        self._due = self._state.event_count
        if not self._running:
            return
        if self._published < self._due and (self._publisher is None or self._publisher.done()):
            self._publisher = asyncio.create_task(self._publish())

    @contextmanager
    def _rest(self) -> Iterator[None]:
        """The main flow waits for a person or a date: the events it held back (documents
        issued, deliveries: steps of its own that listings do not show) are written now.
        While it works, they wait for its next rest or a change listings show, so one write
        carries several steps."""
        self._resting += 1
        self._publish_all()
        try:
            yield
        finally:
            self._resting -= 1

    def _summary(self) -> CaseSummary:
        return summary(self._state)

    # ---- publishing -------------------------------------------------------------------------

    async def _publish(self) -> None:
        """Write the latest summary and the unwritten events until nothing is left; a burst
        of changes becomes one write."""
        while self._published < self._due and not self._projection_rejected:
            upto = self._state.event_count
            update = ProjectionUpdate(
                audit_id=self._state.audit_id,
                initial=self._initial if self._published == 0 else None,
                first_index=self._published,
                events=self._events[self._published - self._first_index :],
            )
            try:
                await run_step(SAVE_PROJECTION, update, type(None))
            except StepFailed as failure:
                # Only a write the database can never take ends up here (others are retried):
                # the case goes on, its stored copy stays behind, and staff are told once.
                self._projection_rejected = True
                reason = failure.reason
                await self._tell_staff(
                    "projection_rejected",
                    "A case cannot be stored in the read model",
                    f"Listings and the stored copy stay at event {self._published}: {reason}",
                )
                return
            self._published = upto

    def _under_way(self) -> list[asyncio.Task[None]]:
        """The background steps and the read-model write still running."""
        pending = [task for task in self._background if not task.done()]
        if self._publisher is not None and not self._publisher.done():
            pending.append(self._publisher)
        return pending

    def _idle(self) -> bool:
        return workflow.all_handlers_finished() and not self._under_way()

    async def _drain(self) -> None:
        """Every handler, background step and write finished: safe to end or continue."""
        while True:
            self._publish_all()
            await workflow.wait_condition(workflow.all_handlers_finished)
            pending = self._under_way()
            if not pending:
                return
            await asyncio.gather(*pending)

    def _upsert_search_attributes(self) -> None:
        state = self._state
        values = (
            str(state.status),
            state.inspector_id,
            float(self._summary().amount_due),
            state.overdue,
            state.response_deadline,
            state.review_deadline,
        )
        if values == self._upserted:
            return
        self._upserted = values

        def deadline(key: SearchAttributeKey[datetime], day: date | None) -> Any:
            return key.value_set(end_of_day(day)) if day else key.value_unset()

        updates: list[SearchAttributeUpdate[Any]] = [
            STATUS.value_set(values[0]),
            PARTY_BIN.value_set(state.start.party.bin),
            INSPECTOR.value_set(values[1]),
            OFFICE.value_set(state.start.customs_office),
            AMOUNT_DUE.value_set(values[2]),
            REVIEW_OVERDUE.value_set(values[3]),
            deadline(RESPONSE_DEADLINE, values[4]),
            deadline(REVIEW_DEADLINE, values[5]),
        ]
        if since(LOCAL_STEPS):  # only what differs from the case's attributes so far
            current = workflow.info().typed_search_attributes
            updates = [u for u in updates if current.get(u.key) != u.value]
            if not updates:
                return
        workflow.upsert_search_attributes(updates)

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
        return await run_step(COMPUTE_DEADLINE, request, date)

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

    async def _tell_staff(self, topic: str, subject: str, body: str) -> None:
        state = self._state
        told = await courier.notify_staff(
            StaffNotice(
                audit_id=state.audit_id,
                customs_office=state.start.customs_office,
                inspector_id=state.inspector_id,
                topic=topic,
                subject=subject,
                body=body,
            )
        )
        self._note(EventKind.STAFF_NOTIFIED, subject=subject, delivered=told, topic=topic)
