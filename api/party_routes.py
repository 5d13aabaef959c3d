"""What a party registers about itself: the webhook its own system receives documents on."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import AnyHttpUrl, BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.webhook_targets import target_problem
from api.auth import Principal
from api.deps import Config, Db, allow
from api.errors import ApiError
from api.schemas import EdgeInput
from db.models import PartyWebhookRow
from domain.identifiers import bin_problem

router = APIRouter(prefix="/parties")


async def party_bin(
    who: Annotated[Principal, allow("party")],
    party_bin: Annotated[str, Path(description="12-digit BIN/IIN")],
) -> str:
    """The caller's own BIN (422 if malformed, 403 if it is someone else's)."""
    problem = bin_problem(party_bin)
    if problem:
        raise ApiError(422, "invalid", problem, "party_bin")
    if party_bin != who.bin:
        raise ApiError(403, "forbidden", f"you may manage the webhook of {who.bin} only")
    return party_bin


BinParam = Annotated[str, Depends(party_bin)]


class WebhookIn(EdgeInput):
    url: AnyHttpUrl
    secret: Annotated[str, Field(min_length=32, max_length=200)]


class WebhookOut(BaseModel):
    party_bin: str
    url: str
    registered_at: datetime


@router.put("/{party_bin}/webhook", response_model=WebhookOut)
async def register_webhook(
    party_bin: BinParam, body: WebhookIn, db: Db, config: Config
) -> WebhookOut:
    """Documents are POSTed to `url`, signed `X-Customs-Signature: t=<unix>,v1=<hex>` with
    HMAC-SHA256(secret, "<t>.<body>"), with an `Idempotency-Key` that stays the same when a
    document is sent again. The URL must reach the public internet."""
    problem = await run_in_threadpool(target_problem, str(body.url), config.webhook_allowed_hosts)
    if problem:
        raise ApiError(422, "invalid", problem, "url")
    row = await run_in_threadpool(_save, db, party_bin, body)
    return WebhookOut(party_bin=row.party_bin, url=row.url, registered_at=row.registered_at)


@router.delete("/{party_bin}/webhook", status_code=204)
async def remove_webhook(party_bin: BinParam, db: Db) -> None:
    if not await run_in_threadpool(_delete, db, party_bin):
        raise ApiError(404, "not_found", f"no webhook registered for {party_bin}")


def _save(db: Engine, party_bin: str, body: WebhookIn) -> PartyWebhookRow:
    row = PartyWebhookRow(
        party_bin=party_bin,
        url=str(body.url),
        secret=body.secret,
        registered_at=datetime.now(UTC),
    )
    with Session(db) as session:
        merged = session.merge(row)
        session.commit()
        session.refresh(merged)
        return merged


def _delete(db: Engine, party_bin: str) -> bool:
    with Session(db) as session:
        row = session.get(PartyWebhookRow, party_bin)
        if row is None:
            return False
        session.delete(row)
        session.commit()
        return True
