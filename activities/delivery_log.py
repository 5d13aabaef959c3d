"""The record of every delivery attempt, and the rules of retrying and giving up.

An alert activity asks `deliver_once`: if this case + document + channel is recorded as sent,
the stored outcome is returned and nothing is sent again; otherwise the send runs and its
result, success or failure, is written down before Temporal decides whether to retry.

Delivery is at-least-once, not exactly-once: a worker that dies after the provider took a
message but before "sent" is written, or a provider that answers after our timeout, leads
to a second send. Every send therefore carries a key that stays the same on every try
(e-mail `Message-ID`, SMS and webhook `Idempotency-Key`), by which the receiver drops the
copy. Temporal retries a failed send with backoff (no attempt limit); the worker gives up
when ALERT_RETRY_HOURS have passed since the first try, so an outage of hours loses nothing.
"""

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db.models import DeliveryAttemptRow
from domain.notices import Channel, DeliveryStatus, idempotency_key
from domain.tasks import DeliveryOutcome

PERMANENT_FAILURE = "PermanentDeliveryFailure"
GAVE_UP = "DeliveryGaveUp"


class PermanentFailure(Exception):
    """The provider refused for good (a bad number, an unknown address): do not retry."""


def record_attempt(
    engine: Engine,
    *,
    audit_id: str,
    document_number: str,
    channel: Channel,
    attempt: int,
    status: DeliveryStatus,
    provider_id: str | None = None,
    detail: str = "",
) -> None:
    with Session(engine) as session:
        session.add(
            DeliveryAttemptRow(
                idempotency_key=idempotency_key(audit_id, document_number, channel),
                audit_id=audit_id,
                document_number=document_number,
                channel=channel,
                attempt=attempt,
                status=status,
                provider_id=provider_id,
                detail=detail[:2000],
                at=datetime.now(UTC),
            )
        )
        session.commit()


def deliver_once(
    engine: Engine,
    *,
    audit_id: str,
    document_number: str,
    channel: Channel,
    send: Callable[[], str | None],
    give_up_after: timedelta | None = None,
) -> DeliveryOutcome:
    key = idempotency_key(audit_id, document_number, channel)
    with Session(engine) as session:
        attempts = session.exec(
            select(DeliveryAttemptRow)
            .where(DeliveryAttemptRow.idempotency_key == key)
            .order_by(col(DeliveryAttemptRow.id))
        ).all()
    failures = [a.detail for a in attempts if a.status == DeliveryStatus.TEMPORARY_FAILURE]
    done = next((a for a in attempts if a.status == DeliveryStatus.SENT), None)
    if done is not None:
        return DeliveryOutcome(
            channel=channel,
            status=DeliveryStatus.SENT,
            provider_id=done.provider_id,
            attempts=len(attempts),
            failures=failures,
            detail="already sent; not sent again",
        )
    log = functools.partial(
        record_attempt,
        engine,
        audit_id=audit_id,
        document_number=document_number,
        channel=channel,
        attempt=len(attempts) + 1,  # counted per message: a first try and its retries differ
    )
    try:
        provider_id = send()
    except PermanentFailure as error:
        log(status=DeliveryStatus.PERMANENT_FAILURE, detail=str(error))
        raise ApplicationError(str(error), type=PERMANENT_FAILURE, non_retryable=True) from error
    except Exception as error:
        detail = f"{type(error).__name__}: {error}"
        log(status=DeliveryStatus.TEMPORARY_FAILURE, detail=detail)
        trying_for = _trying_for()
        if give_up_after is not None and trying_for is not None and trying_for >= give_up_after:
            raise ApplicationError(
                f"gave up after {trying_for} of tries; last: {detail}",
                type=GAVE_UP,
                non_retryable=True,
            ) from error
        raise
    log(status=DeliveryStatus.SENT, provider_id=provider_id)
    return DeliveryOutcome(
        channel=channel,
        status=DeliveryStatus.SENT,
        provider_id=provider_id,
        attempts=len(attempts) + 1,
        failures=failures,
    )


def _trying_for() -> timedelta | None:
    """Time since the first try of this activity (Temporal keeps its first schedule time)."""
    if not activity.in_activity():
        return None
    return datetime.now(UTC) - activity.info().scheduled_time


_RETRYABLE_4XX = frozenset({408, 409, 425, 429})


def check_http_reply(reply: httpx.Response, who: str) -> None:
    """A 4xx (but timeouts and rate limits) is a refusal for good; a 5xx is worth a retry.
    The reply's body is never kept: it is the receiver's text, and delivery records are shown
    to the party."""
    if reply.is_success:
        return
    if 400 <= reply.status_code < 500 and reply.status_code not in _RETRYABLE_4XX:
        raise PermanentFailure(f"{who} refused ({reply.status_code} {reply.reason_phrase})")
    reply.raise_for_status()
    raise RuntimeError(f"unexpected answer {reply.status_code} from {who}")


def skipped(channel: Channel, why: str) -> DeliveryOutcome:
    return DeliveryOutcome(channel=channel, status=DeliveryStatus.SKIPPED, attempts=0, detail=why)
