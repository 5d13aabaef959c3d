"""A local stand-in for the banks' interface that takes orders on a party's bank accounts,
with the contract the bank activity expects (see activities/bank.py).

It keeps every order (in memory and as JSON lines), takes each Idempotency-Key once like the
real interface must, lists what it holds (`GET /orders`), and can be told to misbehave
(`POST /faults`) to see retries and failures.
"""

import logging
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from devsinks.faults import Faults

log = logging.getLogger("devsinks.bank")


class Order(BaseModel):
    order: Literal["suspend", "lift"]
    audit_id: str
    party_bin: str
    party_name: str
    document_number: str
    sha256: str
    issued_on: date
    amount_owed: str
    pdf_url: str


class Stored(Order):
    id: str
    idempotency_key: str


def create_bank_gateway(token: str, journal: Path | None = None) -> FastAPI:
    app = FastAPI(title="Local bank orders gateway")
    orders: dict[str, Stored] = {}
    faults = Faults(app)
    received = {"requests": 0}

    @app.post("/orders", status_code=202)
    async def take(
        order: Order,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        received["requests"] += 1
        if authorization != f"Bearer {token}":
            raise HTTPException(401, "bad token")
        if not idempotency_key:
            raise HTTPException(400, "an Idempotency-Key header is required")
        await faults.show({"error": "unknown_account_holder", "party_bin": order.party_bin})
        if idempotency_key not in orders:
            stored = Stored(
                id=f"order-{len(orders) + 1}", idempotency_key=idempotency_key, **order.model_dump()
            )
            orders[idempotency_key] = stored
            if journal is not None:
                journal.parent.mkdir(parents=True, exist_ok=True)
                with journal.open("a", encoding="utf-8") as out:
                    out.write(stored.model_dump_json() + "\n")
            log.warning(
                "bank order %s %s: %s (%s), owed %s",
                order.document_number,
                order.order,
                order.party_name,
                order.party_bin,
                order.amount_owed,
            )
        return JSONResponse({"id": orders[idempotency_key].id}, status_code=202)

    @app.get("/orders")
    async def listing() -> list[Stored]:
        return list(orders.values())

    @app.get("/stats")
    async def stats() -> dict[str, int]:
        return {"requests": received["requests"], "orders": len(orders)}

    return app
