"""Misbehaviour a local gateway can be told to show (`POST /faults`), to see retries and
failures: the next requests answer 503, hang past the client's timeout, or are refused."""

import asyncio
from typing import Annotated, Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field


class Fault(BaseModel):
    """Misbehave on the next `times` requests: 503, a hang past the client timeout, or 400."""

    mode: Literal["fail", "timeout", "reject"]
    times: Annotated[int, Field(ge=1)] = 1
    delay_seconds: float = 30


class Faults:
    """The faults still to be shown, in the order they were asked for."""

    def __init__(self, app: FastAPI) -> None:
        self._pending: list[Fault] = []

        @app.post("/faults", status_code=204)
        async def add_fault(fault: Fault) -> None:
            self._pending.append(fault)

        @app.delete("/faults", status_code=204)
        async def clear_faults() -> None:
            self._pending.clear()

    async def show(self, refusal: object) -> None:
        """Apply the next fault to this request: raise a 503 or a 400 with `refusal` as its
        detail, or hang (and then go on as usual, like a gateway that answers too late)."""
        if not self._pending:
            return
        fault = self._pending[0]
        fault.times -= 1
        if fault.times == 0:
            self._pending.pop(0)
        if fault.mode == "fail":
            raise HTTPException(503, "gateway temporarily unavailable")
        if fault.mode == "reject":
            raise HTTPException(400, refusal)
        await asyncio.sleep(fault.delay_seconds)
