"""Following a case without asking Temporal over and over: a reader that has seen a version
of the case waits on the read model's row, which a change of status, deadline or amount
reaches at once (any other change once the case rests), and reads the live case only once
the row has moved past that version or the wait is over.

A query to the case costs the Temporal server, the worker and the API each a share; reading
one column of one row costs the database a primary-key lookup."""

import asyncio

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from db.case_rows import stored_version

WAIT_LIMIT_SECONDS = 30  # well under the usual proxy and client timeouts (60 s)
# A change soon after the last is seen soon; a long wait reads the row once a second.
FIRST_CHECK_SECONDS, CHECK_GROWTH, LAST_CHECK_SECONDS = 0.1, 1.5, 1.0


async def until_past(db: Engine, audit_id: str, version: int, seconds: float) -> None:
    """Return once the stored row of the case is past `version`, or after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    pause = FIRST_CHECK_SECONDS
    while await run_in_threadpool(stored_version, db, audit_id) <= version:
        left = deadline - loop.time()
        if left <= 0:
            return
        await asyncio.sleep(min(pause, left))
        pause = min(pause * CHECK_GROWTH, LAST_CHECK_SECONDS)
