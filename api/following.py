"""Following a case without asking Temporal over and over: a reader that has seen a version
of the case waits on the read model's row, which a change of status, deadline or amount
reaches at once (any other change once the case rests), and is answered with that row once
it has moved past the version (or with the live case when the wait is over).

A query to the case costs the Temporal server, the worker and the API each a share, while
the row that moved is the case as its last change left it. The waits of one API process
share one reader of the rows, which reads the versions of every case being waited on in one
query a few times a second, so a thousand readers cost the database what one does. The
waits are still bounded (per caller and per API process), and end when their caller hangs
up or the API stops."""

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.errors import ApiError, ErrorBody
from db import case_rows

WAIT_LIMIT_SECONDS = 30  # well under the usual proxy and client timeouts (60 s)
CHECK_SECONDS = 0.2  # how soon a change is seen, at one query per tick for all the waits
HANG_UP_CHECK_SECONDS = 1.0
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

log = logging.getLogger(__name__)
_open: Counter[str] = Counter()  # open waits by caller, in this process


class VersionWatch:
    """The one reader of stored versions for the waits of an API process. It reads while
    anyone waits, and wakes each wait whose case has moved past the version it has seen."""

    def __init__(self, db: Engine) -> None:
        self._db = db
        self._waits: defaultdict[str, list[tuple[int, asyncio.Future[bool]]]] = defaultdict(list)
        self._reader: asyncio.Task[None] | None = None
        self._stopped = False

    async def until_past(
        self, request: Request, audit_id: str, version: int, seconds: float
    ) -> bool:
        """Whether the stored row of the case moved past `version` within `seconds`; False
        as soon as the time is over, the caller has gone or the API stops."""
        if self._stopped:
            return False
        moved: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        wait = (version, moved)
        self._waits[audit_id].append(wait)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read())
        try:
            async with asyncio.timeout(seconds):
                while not moved.done():
                    await asyncio.wait([moved], timeout=HANG_UP_CHECK_SECONDS)
                    if await request.is_disconnected():
                        return False
        except TimeoutError:
            return False
        finally:
            self._forget(audit_id, wait)
        return moved.result()

    def stop(self) -> None:
        """Answer every open wait now, and any later one at once."""
        self._stopped = True
        for waits in self._waits.values():
            for _, moved in waits:
                if not moved.done():
                    moved.set_result(False)

    async def _read(self) -> None:
        while not self._stopped:
            await asyncio.sleep(CHECK_SECONDS)
            if not self._waits:
                return
            try:
                cases = list(self._waits)
                versions = await run_in_threadpool(case_rows.stored_versions, self._db, cases)
            except SQLAlchemyError as error:  # the waits run out; the answer is the live case
                log.warning("cannot read the versions of followed cases: %s", error)
                continue
            for audit_id, version in versions.items():
                for seen, moved in self._waits.get(audit_id, ()):
                    if version > seen and not moved.done():
                        moved.set_result(True)

    def _forget(self, audit_id: str, wait: tuple[int, asyncio.Future[bool]]) -> None:
        waits = self._waits[audit_id]
        waits.remove(wait)
        if not waits:
            del self._waits[audit_id]


async def until_past(
    request: Request, audit_id: str, version: int, seconds: float, caller: str
) -> bool:
    """Wait as `VersionWatch.until_past` does, within the caller's and the process's limits."""
    watch: VersionWatch = request.app.state.version_watch
    with _admitted(caller):
        return await watch.until_past(request, audit_id, version, seconds)


def end_waits(app: FastAPI) -> None:
    """Answer every open wait now: the server is stopping, and waits for open requests. A
    server of another app (a local sink) has none."""
    watch: VersionWatch | None = getattr(app.state, "version_watch", None)
    if watch is not None:
        watch.stop()


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
