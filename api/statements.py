"""A treasury statement taken line by line as its bytes arrive, and answered in line order.

A day's statement holds thousands of postings, each answered by its case over Temporal in
tens of milliseconds. Reading the whole body first and answering at the end would hold it
all in memory and keep the caller waiting for minutes behind a silent connection. So the
CSV is parsed as it arrives (one posting per line), up to STATEMENT_CONCURRENCY postings
are in flight at once, and results come out in the statement's order as soon as they are
known. Postings to the same case are applied one after another in the statement's order,
so of two lines with one reference it is always the first that counts.
"""

import asyncio
import csv
import functools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal, get_args

from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from api.errors import ApiError
from api.schemas import PaymentRequest
from domain.storable import text_problem

CSV_COLUMNS = ("audit_id", "reference", "amount", "paid_at", "kind")
_BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 64 * 1024  # a posting is a few dozen bytes; a longer "line" is not one

Outcome = Literal["accepted", "duplicate", "queued", "unknown_audit", "closed", "invalid"]


class LineResult(BaseModel):
    line: int
    audit_id: str | None
    reference: str | None
    result: Outcome
    detail: str


class StatementResult(BaseModel):
    results: list[LineResult]
    accepted: int
    duplicates: int
    rejected: int


Tally = Literal["accepted", "duplicates", "rejected"]


def tally(line: LineResult) -> Tally:
    """Which of the statement's totals a line counts in."""
    if line.result == "accepted":
        return "accepted"
    return "duplicates" if line.result == "duplicate" else "rejected"


def totals(results: list[LineResult]) -> StatementResult:
    counts = Counter(tally(line) for line in results)
    return StatementResult(results=results, **{name: counts[name] for name in get_args(Tally)})


class Posting(BaseModel):
    """One line of a statement: a payment to apply, or why the line cannot be one."""

    line: int
    audit_id: str
    reference: str | None
    payment: PaymentRequest | None = None
    problem: str = ""

    def refused(self) -> LineResult:
        return LineResult(
            line=self.line,
            audit_id=self.audit_id,
            reference=self.reference,
            result="invalid",
            detail=self.problem,
        )


Apply = Callable[[int, str, PaymentRequest], Awaitable[LineResult]]


async def csv_postings(chunks: AsyncIterator[bytes]) -> AsyncIterator[Posting]:
    """The statement's lines as they arrive. The header is checked before the first posting
    is given out, so a file that is not a statement is refused (422) with nothing applied."""
    lines = _text_lines(chunks)
    header = await anext(lines, None)
    columns = next(csv.reader([header]), []) if header else []
    missing = [c for c in CSV_COLUMNS[:4] if c not in columns]
    if missing:
        raise ApiError(
            422, "invalid", f"CSV header lacks {', '.join(missing)}; expected {CSV_COLUMNS}"
        )
    number = 0
    async for text in lines:
        if text is not None and not text.strip():
            continue
        number += 1
        if text is None:
            problem = f"the line is longer than {MAX_LINE_BYTES} bytes"
            yield Posting(line=number, audit_id="", reference=None, problem=problem)
        else:
            yield _posting(number, columns, text)
    if number == 0:
        raise ApiError(422, "invalid", "the statement has a header but no postings")


async def _text_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str | None]:
    """Complete lines, each decoded on its own (a UTF-8 sequence never contains a newline
    byte), so one damaged line is reported as such instead of refusing the whole file; None
    for a line longer than MAX_LINE_BYTES, which is skipped rather than held in memory."""
    pending = bytearray()
    first, skipping = True, False
    async for chunk in chunks:
        pending += chunk
        if first and len(pending) >= len(_BOM):
            if pending.startswith(_BOM):
                del pending[: len(_BOM)]
            first = False
        last = pending.rfind(b"\n")
        if last != -1:
            complete = bytes(pending[:last])
            del pending[: last + 1]
            lines = complete.split(b"\n")
            if skipping:  # the rest of an over-long line
                lines, skipping = lines[1:], False
            for raw in lines:
                yield _decoded(raw)
        if not skipping and len(pending) > MAX_LINE_BYTES:
            pending.clear()
            skipping = True
            yield None
        elif skipping:
            pending.clear()
    if pending.strip() and not skipping:
        yield _decoded(bytes(pending).removeprefix(_BOM))


def _decoded(raw: bytes) -> str:
    return raw.rstrip(b"\r").decode("utf-8", errors="replace")


def _posting(number: int, columns: list[str], text: str) -> Posting:
    values = next(csv.reader([text]), [])
    row = dict(zip(columns, values, strict=False))
    audit_id = (row.get("audit_id") or "").strip()
    reference = row.get("reference")
    line = Posting(line=number, audit_id=audit_id, reference=reference)
    if "\ufffd" in text:
        return line.model_copy(update={"problem": "the line is not UTF-8 text"})
    problem = next((p for p in map(text_problem, values) if p), None)
    if problem:
        return line.model_copy(update={"problem": f"a field {problem}"})
    if len(values) > len(columns):
        return line.model_copy(update={"problem": "the line has more fields than the header"})
    try:
        payment = PaymentRequest(
            reference=reference or "",
            amount=row.get("amount") or "",
            paid_at=row.get("paid_at") or "",
            kind=(row.get("kind") or "").strip() or None,
        )
    except ValidationError as error:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in error.errors())
        return line.model_copy(update={"problem": problems})
    return line.model_copy(update={"payment": payment})


async def answered(
    postings: AsyncIterator[Posting], apply: Apply, window: int
) -> AsyncIterator[LineResult]:
    """Each posting's result in the statement's order, as soon as it is known, while the
    rest is still arriving; at most `window` postings are being applied at once. Results
    the caller has not taken yet wait in order: a client that sends its whole statement
    before reading the answer must not hold up the reading of its own body.

    An error that is not a line's own answer (Temporal unreachable, a body cut off) stops
    the statement: the lines before it stand, and sending it again counts each reference once.
    """
    slots = asyncio.Semaphore(window)
    queue: asyncio.Queue[asyncio.Task[LineResult] | None] = asyncio.Queue()

    async def read() -> None:
        last_of_case: dict[str, asyncio.Task[LineResult]] = {}

        def done(task: asyncio.Task[LineResult], audit_id: str) -> None:
            slots.release()  # a slot is a posting being applied, not a result not yet sent
            if last_of_case.get(audit_id) is task:
                del last_of_case[audit_id]

        try:
            async for posting in postings:
                await slots.acquire()
                task = asyncio.create_task(
                    _in_turn(last_of_case.get(posting.audit_id), posting, apply)
                )
                last_of_case[posting.audit_id] = task
                task.add_done_callback(functools.partial(done, audit_id=posting.audit_id))
                queue.put_nowait(task)
        finally:
            queue.put_nowait(None)

    reader = asyncio.create_task(read())
    try:
        while (task := await queue.get()) is not None:
            yield await task
        await reader  # its error, if the statement could not be read to the end
    finally:
        reader.cancel()
        while not queue.empty():
            if (left := queue.get_nowait()) is not None:
                left.cancel()


async def _in_turn(
    previous: asyncio.Task[LineResult] | None, posting: Posting, apply: Apply
) -> LineResult:
    if previous is not None:
        await asyncio.wait([previous])  # its outcome is reported in its own line
    if posting.payment is None:
        return posting.refused()
    return await apply(posting.line, posting.audit_id, posting.payment)


class AnswerWhileReading(StreamingResponse):
    """A streamed answer that leaves the request's body to the route. Starlette's own, under
    ASGI servers before spec 2.4 (uvicorn), listens on `receive` for a disconnect while it
    streams, which takes the statement's remaining body away from the route still reading
    it. A client that goes away shows in the route as the body ending early
    (`ClientDisconnect`); under servers whose send fails instead, here too."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.stream_response(send)
        except OSError as error:
            raise ClientDisconnect() from error
