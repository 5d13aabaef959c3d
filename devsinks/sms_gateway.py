"""A local SMS gateway with the contract the SMS activity expects (see activities/sms.py).

It keeps every text (in memory and as JSON lines), deduplicates by Idempotency-Key like a
real gateway, and can be told to misbehave (`POST /faults`) to see retries and failures.
"""

import logging
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from devsinks.faults import Faults

log = logging.getLogger("devsinks.sms")


class Sms(BaseModel):
    to: str
    text: str
    reference: str


class Stored(Sms):
    id: str


def create_gateway(token: str, journal: Path | None = None) -> FastAPI:
    app = FastAPI(title="Local SMS gateway")
    messages: dict[str, Stored] = {}
    faults = Faults(app)
    received = {"requests": 0}

    @app.post("/messages", status_code=202)
    async def send(
        sms: Sms,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        received["requests"] += 1
        if authorization != f"Bearer {token}":
            raise HTTPException(401, "bad token")
        await faults.show({"error": "invalid_number", "to": sms.to})
        key = idempotency_key or sms.reference
        if key not in messages:
            messages[key] = Stored(id=f"sms-{len(messages) + 1}", **sms.model_dump())
            if journal is not None:
                journal.parent.mkdir(parents=True, exist_ok=True)
                with journal.open("a", encoding="utf-8") as out:
                    out.write(messages[key].model_dump_json() + "\n")
            log.warning("sms to %s: %s", sms.to, sms.text)
        return JSONResponse({"id": messages[key].id}, status_code=202)

    @app.get("/messages")
    async def listing() -> list[Stored]:
        return list(messages.values())

    @app.get("/stats")
    async def stats() -> dict[str, int]:
        return {"requests": received["requests"], "messages": len(messages)}

    return app
