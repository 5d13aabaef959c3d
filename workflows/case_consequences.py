"""What the `CameralAudit` workflow does after a decision recognising the notification as
unfulfilled (domain/consequences.py has the rules): it counts the appeal period from the
decision's delivery, waits for an appeal and its outcome, orders the banks to suspend the
party's debit operations once the decision is final and the debt still unpaid, lifts that
order when the debt is paid, and issues a supervisor's revocation. Each timer becomes a
"deadline passed" command for the rules, as in `workflows/case_periods.py`."""

import asyncio
from typing import Any, Literal

from temporalio import workflow

from workflows import courier
from workflows.case_effects import CaseEffects
from workflows.versions import since

with workflow.unsafe.imports_passed_through():
    from domain.case_commands import DeadlinePassed, SetDeadline
    from domain.case_state import CaseState
    from domain.clock import close_of_business, end_of_day
    from domain.lifecycle import AuditStatus
    from domain.money import to_tiyn
    from domain.notices import DeliveryStatus, DocumentKind
    from domain.tasks import BankOrder, RenderedDocument

# workflow.patched: cases decided before it end at the decision, as they ran.
CONSEQUENCES = "consequences-after-unfulfilled-decision"
# workflow.patched: orders and notices of the follow-up are dated on working days, and an
# order waiting for the banks' channel holds up nothing else of the case.
FOLLOW_UP_DOCUMENTS_ON_WORKING_DAYS = "follow-up-documents-on-working-days"

_ORDERS: dict[DocumentKind, Literal["suspend", "lift"]] = {
    DocumentKind.SUSPENSION_ORDER: "suspend",
    DocumentKind.LIFTING_ORDER: "lift",
}


def _marks(state: CaseState) -> tuple[Any, ...]:
    """What the follow-up waits on: a change to any of these is a step to take."""
    return (
        state.status,
        state.decision_delivered_on,
        state.appeal_deadline,
        state.appeal,
        state.final_on,
        state.suspension_due,
        state.suspension_number,
        state.lifting_number,
        state.revocation_number,
        state.revocation_proposed,
        state.settled_on,
    )


class CaseConsequences(CaseEffects):
    _bank_queue: "asyncio.Task[None] | None" = None

    async def _follow_up(self) -> bool:
        """Run the consequences until nothing is left to do (False), or until the history is
        long enough to continue as new (True; the caller carries the case over)."""
        while True:
            await self._issue_pending_documents()
            await self._count_consequence_periods()
            decision = self._state.decision_number
            topic = f"revocation_proposed:{decision}"
            # told once per case, not once per run: the state carries the topics over
            if self._state.revocation_proposed and topic not in self._state.staff_told_of:
                await self._tell_staff(
                    topic,
                    "A decision may have to be revoked",
                    f"Payments dated within the period were posted after decision "
                    f"{decision}; a supervisor decides whether to revoke it.",
                )
            # Each await above lets updates change the case: look at it afresh.
            if self._pending_documents():
                continue
            if not self._state.following_up:
                return False
            if await self._wait_for_next_step() and not self._pending_documents():
                return True

    async def _count_consequence_periods(self) -> None:
        state = self._state
        if state.status != AuditStatus.UNFULFILLED:
            return
        if state.decision_delivered_on and state.appeal_deadline is None:
            day = await self._count("appeal", state.decision_delivered_on)
            self._apply(SetDeadline("appeal", day))
        state = self._state
        if state.final_on and state.suspension_due is None and state.settled_on is None:
            self._apply(SetDeadline("suspension", await self._count("suspension", state.final_on)))

    async def _wait_for_next_step(self) -> bool:
        """Wait for the running period to end or the case to move; True if the history
        should continue as new first."""
        state = self._state
        instant = None
        name: Any = None
        if state.status == AuditStatus.UNFULFILLED:
            if state.appeal_deadline and state.final_on is None and state.appeal is None:
                name, instant = "appeal", end_of_day(state.appeal_deadline)
            elif (
                state.suspension_due
                and not state.suspension_number
                and not state.settled_on
                and not state.revocation_proposed
            ):
                name, instant = "suspension", close_of_business(state.suspension_due)
        watched = _marks(state)

        def moved() -> bool:
            return _marks(self._state) != watched or self._time_to_hand_over()

        if instant is None or await self._wait_until(moved, instant):
            if not moved():
                with self._rest():
                    await workflow.wait_condition(moved)
        elif not self._apply(DeadlinePassed(name)):
            # The period ended and changed nothing: never loop on it, wait for the case.
            with self._rest():
                await workflow.wait_condition(moved)
        return self._time_to_hand_over()

    async def _issue_pending_documents(self) -> None:
        """Issue every document an event reserved a number for and nothing issued yet: the
        revocation notice goes to the party, the orders to the banks (with a copy to the
        party through its legal channel)."""
        while pending := self._pending_documents():
            kind, number = pending[0]
            later = since(FOLLOW_UP_DOCUMENTS_ON_WORKING_DAYS)
            if later:
                await self._until_a_working_day()
            document = await self._issue(kind, number, **self._document_details(kind))
            if document is None:
                continue  # recorded as failed and staff were told: never issued twice
            if kind in _ORDERS and later:
                self._to_bank_in_turn(document, _ORDERS[kind])
            elif kind in _ORDERS:
                await self._send_to_bank(document, _ORDERS[kind])
            self._in_background(self._deliver_later(document, None))

    def _to_bank_in_turn(
        self, document: RenderedDocument, order: Literal["suspend", "lift"]
    ) -> None:
        """Send in the background, after the case's earlier orders: a lifting order never
        overtakes its suspension order at the banks."""
        earlier = self._bank_queue

        async def send() -> None:
            if earlier is not None:
                await earlier
            await self._send_to_bank(document, order)

        self._bank_queue = asyncio.create_task(send())
        self._background.append(self._bank_queue)

    def _pending_documents(self) -> list[tuple[DocumentKind, str]]:
        state = self._state
        reserved = (
            (DocumentKind.REVOCATION, state.revocation_number),
            (DocumentKind.SUSPENSION_ORDER, state.suspension_number),
            (DocumentKind.LIFTING_ORDER, state.lifting_number),
        )
        return [
            (kind, number)
            for kind, number in reserved
            if number is not None and number not in state.handled_documents
        ]

    def _document_details(self, kind: DocumentKind) -> dict[str, str]:
        state = self._state
        if kind == DocumentKind.REVOCATION:
            return {
                "decision_number": state.decision_number or "",
                "decided_on": state.decided_on.isoformat() if state.decided_on else "",
                "reasons": state.revocation_reasons,
                "payments": "\n".join(
                    f"{p.reference} — {to_tiyn(p.amount)} KZT — {p.paid_at.isoformat()}"
                    for p in state.payments
                    if p.reference in state.revocation_references
                ),
            }
        if kind == DocumentKind.SUSPENSION_ORDER:
            return {
                "decision_number": state.decision_number or "",
                "final_on": state.final_on.isoformat() if state.final_on else "",
                "outstanding": state.suspension_owed or "",
            }
        return {
            "suspension_number": state.suspension_number or "",
            "suspended_on": state.suspended_on.isoformat() if state.suspended_on else "",
            "settled_on": (state.settled_on or state.lifted_on or self._today()).isoformat(),
        }

    async def _send_to_bank(
        self, document: RenderedDocument, order: Literal["suspend", "lift"]
    ) -> None:
        state = self._state
        amount = "0.00" if order == "lift" else self._document_details(document.kind)["outstanding"]

        def retrying(reason: str) -> None:
            # A lifting order is due within a working day: staff hear of an outage at once.
            self._in_background(
                self._tell_staff(
                    f"bank_order_retrying:{document.number}",
                    "An order is waiting for the banks' channel",
                    f"{document.number} could not be sent yet ({reason}); it is being retried.",
                )
            )

        outcome = await courier.to_bank(
            BankOrder(
                audit_id=state.audit_id,
                party=state.start.party,
                order=order,
                document=document,
                issued_on=self._today(),
                amount_owed=amount,
            ),
            retrying=retrying,
        )
        courier.record_outcome(self._note, document, outcome)
        if outcome.status == DeliveryStatus.PERMANENT_FAILURE:
            await self._tell_staff(
                f"bank_order_failed:{document.number}",
                "An order did not reach the banks",
                f"{document.number} ({document.kind}) could not be sent to the banks' channel: "
                f"{outcome.detail}. Send it by another route.",
            )
