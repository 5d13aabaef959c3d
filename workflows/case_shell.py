"""The workflow's side of a case: it holds the state value, feeds commands to the pure rules
(`domain/case_rules.py`) and keeps the read model and the search attributes up to date; the
effects the events ask for are in `workflows/case_effects.py`.

Every change goes through `_apply` (or `_note` for bookkeeping), synchronously, so a handler
has changed the case before its first `await`. Publishing is one background loop that writes
the summary and only the events not yet written, one activity at a time, so the read model
gets every change in order and the history grows with the case, not with its square.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

from workflows import courier
from workflows.errors import EXPIRED, FORBIDDEN, HANDING_OVER, INVALID_INPUT, WRONG_STATE
from workflows.local_steps import LocalSteps, StepFailed
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
from workflows.versions import LOCAL_STEPS, since

with workflow.unsafe.imports_passed_through():
    from domain.case import CaseEvent, CaseSummary
    from domain.case_commands import Command
    from domain.case_rules import decide
    from domain.case_state import CaseState, event, evolve
    from domain.case_view import summary
    from domain.clock import end_of_day
    from domain.lifecycle import EventKind
    from domain.refusals import Refused
    from domain.tasks import (
        SAVE_PROJECTION,
        ProjectionUpdate,
        StaffNotice,
    )

_REFUSAL_TYPES = {
    "wrong_state": WRONG_STATE,
    "invalid_input": INVALID_INPUT,
    "forbidden": FORBIDDEN,
}


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
        self._steps = LocalSteps()
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
                await self._steps.run(SAVE_PROJECTION, update, type(None))
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

    # ---- telling staff -----------------------------------------------------------------------

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
