"""Issuing a document and carrying it to the party, as seen from inside the workflow.

Every step is an activity, so each render, placement and alert shows in the Temporal history
under its own name. Alerts run side by side; one failing never holds up another, and none of
them decides a legal date.
"""

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, RetryState

from workflows.versions import since

with workflow.unsafe.imports_passed_through():
    from domain.case import CaseSummary, Party
    from domain.lifecycle import EventKind
    from domain.notices import ALERT_CHANNELS, Channel, DeliveryStatus, DocumentKind
    from domain.tasks import (
        ALERT_ACTIVITIES,
        DISPATCH_REGISTERED_MAIL,
        NOTIFY_STAFF,
        PLACE_IN_CABINET,
        RENDER_DOCUMENT,
        SEND_BANK_ORDER,
        AlertRequest,
        BankOrder,
        CabinetPlacement,
        DeliveryOutcome,
        RenderedDocument,
        RenderRequest,
        StaffNotice,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Our own database and renderer: keep trying, an outage must not lose a document.
DURABLE = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
# Someone else's server: retry with backoff, every 10 minutes at most, until the worker's
# ALERT_RETRY_HOURS have passed since the first try (activities/delivery_log.py); then the
# channel is reported as failed. The timeout is only a backstop against a misconfiguration.
ALERT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)
ALERT_BACKSTOP = timedelta(days=15)
# One try on its own first, so the case can say "still being retried" while the long retry
# runs; a try that was cut off is sent again under the same idempotency key.
FIRST_TRY = RetryPolicy(maximum_attempts=1)
ALERT_FIRST_TRY = "alert-first-try"  # workflow.patched: cases started before it replay as they ran
ALERT_OUTCOME_AS_IT_COMES = "alert-outcome-as-it-comes"  # workflow.patched, likewise

Record = Callable[..., None]
Retrying = Callable[[Channel, str], None]
Settled = Callable[[DeliveryOutcome], None]


async def issue(
    kind: DocumentKind, number: str, case: CaseSummary, issued_on: date, **extra: str
) -> RenderedDocument:
    document: RenderedDocument = await workflow.execute_activity(
        RENDER_DOCUMENT,
        RenderRequest(
            document_id=str(workflow.uuid4()),
            number=number,
            kind=kind,
            issued_on=issued_on,
            case=case,
            extra=extra,
        ),
        result_type=RenderedDocument,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=DURABLE,
    )
    return document


async def to_cabinet(audit_id: str, party_bin: str, document: RenderedDocument) -> DeliveryOutcome:
    outcome: DeliveryOutcome = await workflow.execute_activity(
        PLACE_IN_CABINET,
        CabinetPlacement(
            audit_id=audit_id, party_bin=party_bin, document=document, requested_at=workflow.now()
        ),
        result_type=DeliveryOutcome,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=DURABLE,
    )
    return outcome


async def by_registered_mail(
    audit_id: str, party: Party, document: RenderedDocument
) -> DeliveryOutcome:
    outcome: DeliveryOutcome = await workflow.execute_activity(
        DISPATCH_REGISTERED_MAIL,
        AlertRequest(audit_id=audit_id, party=party, document=document),
        result_type=DeliveryOutcome,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=DURABLE,
    )
    return outcome


async def alert(
    audit_id: str,
    party: Party,
    document: RenderedDocument,
    deadline: date | None,
    retrying: Retrying,
    settled: Settled,
) -> list[DeliveryOutcome]:
    """E-mail, SMS and webhook side by side; a channel that gives up is reported, not raised.
    `retrying` hears of a channel whose first try failed and that goes on trying, `settled`
    of each channel's outcome as soon as it is known (one channel may retry for hours)."""
    request = AlertRequest(audit_id=audit_id, party=party, document=document, deadline=deadline)
    as_they_come = since(ALERT_OUTCOME_AS_IT_COMES)

    async def one(channel: Channel) -> DeliveryOutcome:
        outcome = await _alert_one(channel, request, retrying)
        if as_they_come:
            settled(outcome)
        return outcome

    outcomes = list(await asyncio.gather(*(one(channel) for channel in ALERT_CHANNELS)))
    if not as_they_come:  # cases started before: all outcomes once the last was known
        for outcome in outcomes:
            settled(outcome)
    return outcomes


async def _alert_one(
    channel: Channel, request: AlertRequest, retrying: Retrying
) -> DeliveryOutcome:
    if since(ALERT_FIRST_TRY):
        try:
            return await _send_alert(channel, request, FIRST_TRY, ACTIVITY_TIMEOUT)
        except ActivityError as error:
            if error.retry_state == RetryState.NON_RETRYABLE_FAILURE:
                return _gave_up(channel, error)
            retrying(channel, _reason(error))
    try:
        return await _send_alert(channel, request, ALERT_RETRY, ALERT_BACKSTOP)
    except ActivityError as error:
        return _gave_up(channel, error)


async def _send_alert(
    channel: Channel, request: AlertRequest, retry: RetryPolicy, backstop: timedelta
) -> DeliveryOutcome:
    outcome: DeliveryOutcome = await workflow.execute_activity(
        ALERT_ACTIVITIES[channel],
        request,
        result_type=DeliveryOutcome,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        schedule_to_close_timeout=backstop,
        retry_policy=retry,
    )
    return outcome


async def to_bank(
    order: BankOrder, *, retrying: Callable[[str], None] | None = None
) -> DeliveryOutcome:
    """Send an order on the party's bank accounts to the banks' interface.

    It is retried with the alerts' backoff (every 10 minutes at most) until the worker's
    BANK_ORDER_RETRY_HOURS have passed since the first try; an order refused (4xx) or given
    up on comes back as a permanent failure, never raised, so the case can tell staff, who
    then deliver it another way. With `retrying`, a first try runs on its own and a failed
    one is reported at once (with its reason) while the long retry goes on: a lifting order
    is due within a working day, and staff should not hear of an outage only at its end.
    """
    if retrying is not None:
        try:
            return await _send_order(order, FIRST_TRY)
        except ActivityError as error:
            if error.retry_state == RetryState.NON_RETRYABLE_FAILURE:
                return _gave_up(Channel.BANK, error)
            retrying(_reason(error))
    try:
        return await _send_order(order, ALERT_RETRY)
    except ActivityError as error:
        return _gave_up(Channel.BANK, error)


async def _send_order(order: BankOrder, retry: RetryPolicy) -> DeliveryOutcome:
    outcome: DeliveryOutcome = await workflow.execute_activity(
        SEND_BANK_ORDER,
        order,
        result_type=DeliveryOutcome,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        schedule_to_close_timeout=ALERT_BACKSTOP,
        retry_policy=retry,
    )
    return outcome


def _reason(error: ActivityError) -> str:
    cause = error.cause
    return str(cause.message if cause is not None and hasattr(cause, "message") else error)


def _gave_up(channel: Channel, error: ActivityError) -> DeliveryOutcome:
    return DeliveryOutcome(
        channel=channel, status=DeliveryStatus.PERMANENT_FAILURE, detail=_reason(error)
    )


async def notify_staff(notice: StaffNotice) -> bool:
    try:
        await workflow.execute_activity(
            NOTIFY_STAFF,
            notice,
            result_type=DeliveryOutcome,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=ALERT_BACKSTOP,
            retry_policy=ALERT_RETRY,
        )
    except ActivityError:
        return False
    return True


def record_outcome(record: Record, document: RenderedDocument, outcome: DeliveryOutcome) -> None:
    """One event per failed try before the outcome, then the outcome itself."""
    for failure in outcome.failures:
        record(
            EventKind.DELIVERY_ATTEMPT,
            document=document.number,
            channel=str(outcome.channel),
            status=str(DeliveryStatus.TEMPORARY_FAILURE),
            detail=failure,
        )
    details: dict[str, Any] = {
        "document": document.number,
        "channel": str(outcome.channel),
        "status": str(outcome.status),
        "provider_id": outcome.provider_id,
    }
    if outcome.detail:
        details["detail"] = outcome.detail
    record(EventKind.DELIVERY_ATTEMPT, **details)


def every_alert_failed(outcomes: list[DeliveryOutcome]) -> bool:
    tried = [o for o in outcomes if o.status != DeliveryStatus.SKIPPED]
    return bool(tried) and all(o.status == DeliveryStatus.PERMANENT_FAILURE for o in tried)
