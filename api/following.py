"""Following a case without asking Temporal over and over: a reader that has seen a version
of the case waits on the read model's row, which a change of status, deadline or amount
reaches at once (any other change once the case rests), and reads the live case only once
the row has moved past that version or the wait is over.

A query to the case costs the Temporal server, the worker and the API each a share; reading
one column of one row costs the database a primary-key lookup. The waits are still bounded
(per caller and per API process), and end when their caller hangs up or the API stops."""

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from api.errors import ApiError, ErrorBody
from db.case_rows import stored_version

WAIT_LIMIT_SECONDS = 30  # well under the usual proxy and client timeouts (60 s)
# A change soon after the last is seen soon; a long wait reads the row once a second.
FIRST_CHECK_SECONDS, CHECK_GROWTH, LAST_CHECK_SECONDS = 0.1, 1.5, 1.0
WAITS_PER_CALLER = 20  # an inspector's screen following a page of cases
WAITS_PER_PROCESS = 500
_RETRY_AFTER = {"Retry-After": "1"}

TOO_MANY_WAITS: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorBody,
        "description": f"The caller waits on {WAITS_PER_CALLER} cases already; retry after "
        "`Retry-After` seconds",
    }
}

_open: Counter[str] = Counter()  # open waits by caller, in this process


async def until_past(
    request: Request, db: Engine, audit_id: str, version: int, seconds: float, caller: str
) -> None:
    """Return once the stored row of the case is past `version`, after `seconds`, when
    the caller has gone or when the API stops."""
    stopping: asyncio.Event = request.app.state.waits_end
    with _admitted(caller):
        try:
            async with asyncio.timeout(seconds):
                pause = FIRST_CHECK_SECONDS
                while await run_in_threadpool(stored_version, db, audit_id) <= version:
                    if stopping.is_set() or await request.is_disconnected():
                        return
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopping.wait(), pause)
                    pause = min(pause * CHECK_GROWTH, LAST_CHECK_SECONDS)
        except TimeoutError:
            return


def end_waits(app: FastAPI) -> None:
    """Answer every open wait now: the server is stopping, and waits for open requests. A
    server of another app (a local sink) has none."""
    waits_end: asyncio.Event | None = getattr(app.state, "waits_end", None)
    if waits_end is not None:
        waits_end.set()


@contextmanager
def _admitted(caller: str) -> Iterator[None]:
    if _open[caller] >= WAITS_PER_CALLER:
        raise ApiError(
            429,
            "too_many_waits",
            f"you are waiting on {WAITS_PER_CALLER} cases already; wait for one of those "
            "answers, or ask without wait",
            "wait",
            _RETRY_AFTER,
        )
    if _open.total() >= WAITS_PER_PROCESS:
        raise ApiError(503, "busy", "too many readers are waiting; ask again", "wait", _RETRY_AFTER)
    _open[caller] += 1
    try:
        yield
    finally:
        _open[caller] -= 1
        if not _open[caller]:
            del _open[caller]
