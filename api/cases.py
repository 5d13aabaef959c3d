"""Talking to the case workflows: start, query, update and signal, with Temporal's failures
turned into answers a user understands."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import (
    RETRY_AFTER_SECONDS,
    ApiError,
    from_update_failure,
    handing_over,
    not_found,
)
from api.readmodel import stored_snapshot, with_earlier_events
from domain.case import AuditStart, CaseSnapshot, CaseSummary, Payment
from domain.case_state import CaseState, initial_state
from domain.clock import local_date
from domain.lifecycle import AuditStatus
from workflows.cameral_audit import CameralAudit
from workflows.messages import PaymentResult
from workflows.search_attributes import (
    AMOUNT_DUE,
    INSPECTOR,
    OFFICE,
    PARTY_BIN,
    REVIEW_OVERDUE,
    STATUS,
)

T = TypeVar("T")
RPC_TIMEOUT = timedelta(seconds=10)
HANDOVER_PAUSE = timedelta(milliseconds=200)
# What Temporal answers when no worker took a query or update in time, or it is unreachable.
_UNAVAILABLE = {
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.RESOURCE_EXHAUSTED,
}


class WorkerUnavailable(ApiError):
    """No worker answered in time; the case itself is safe in Temporal."""

    def __init__(self, audit_id: str, what: str = "no worker answered") -> None:
        super().__init__(
            503,
            "worker_unavailable",
            f"audit {audit_id}: {what}; nothing was changed, retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def update_id(name: str, not_after: datetime) -> str:
    """An update id that carries the moment its caller stops waiting (see workflows)."""
    return f"{name}:{uuid.uuid4().hex}:{int(not_after.timestamp() * 1000)}"


START_KEY_MEMO = "start_key"


class CaseGateway:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        query_wait: timedelta = timedelta(seconds=3),
        update_wait: timedelta = timedelta(seconds=10),
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._query_wait = query_wait
        # How long a user's request may wait for a worker; past it the case refuses the
        # request (its id carries this deadline), so one the caller gave up on never acts.
        self._update_wait = update_wait

    async def start(self, start: AuditStart, start_key: str | None = None) -> CaseState:
        """Start the workflow; an id used before, even by a closed case, is a 409.
        `start_key` (a digest of an Idempotency-Key and its request) is kept in the
        workflow's memo, so a try that finds the id taken can tell its own start apart."""
        try:
            await self._client.start_workflow(
                CameralAudit.run,
                args=[start, None],  # the second argument only ever carries a long case over
                id=start.audit_id,
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                rpc_timeout=RPC_TIMEOUT,
                memo={START_KEY_MEMO: start_key} if start_key else None,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(STATUS, str(AuditStatus.ISSUED)),
                        SearchAttributePair(PARTY_BIN, start.party.bin),
                        SearchAttributePair(INSPECTOR, start.inspector_id),
                        SearchAttributePair(OFFICE, start.customs_office),
                        SearchAttributePair(REVIEW_OVERDUE, False),
                        *(
                            [SearchAttributePair(AMOUNT_DUE, float(start.charges.total))]
                            if start.charges
                            else []
                        ),
                    ]
                ),
            )
        except RPCError as error:
            if error.status in _UNAVAILABLE:
                raise ApiError(
                    503,
                    "temporal_unavailable",
                    "Temporal did not answer; retry with the same Idempotency-Key or audit_id",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                ) from error
            raise
        except WorkflowAlreadyStartedError as error:
            raise ApiError(
                409, "exists", f"audit {start.audit_id} already exists; choose another audit_id"
            ) from error
        # The case as its workflow starts it (the same pure function): the notification
        # number is reserved; delivery follows in a moment (GET /audits/{id} shows it).
        return initial_state(start, local_date(datetime.now(UTC)))

    async def start_key_of(self, audit_id: str) -> str | None:
        """The start key the case was started under, if any."""
        try:
            description = await self._client.get_workflow_handle(audit_id).describe(
                rpc_timeout=RPC_TIMEOUT
            )
        except RPCError as error:
            if error.status in _UNAVAILABLE:
                raise WorkerUnavailable(audit_id, "Temporal did not answer") from error
            raise
        key: str | None = await description.memo_value(START_KEY_MEMO, None, type_hint=str)
        return key

    async def running_case_ids(self) -> set[str]:
        """Ids of every running case, from Temporal's visibility store."""
        query = 'WorkflowType = "CameralAudit" AND ExecutionStatus = "Running"'
        return {
            execution.id
            async for execution in self._client.list_workflows(query, rpc_timeout=self._query_wait)
        }

    async def snapshot(
        self, audit_id: str, db: Engine, may_have_ended: bool = False
    ) -> CaseSnapshot:
        """The live case, with the events its earlier runs handed to the read model. A case
        that `may_have_ended` is first looked up: an ended one is answered from the read
        model when it holds all of it, since a query would replay its whole history on a
        worker."""
        if may_have_ended and (ended := await self._ended(audit_id, db)) is not None:
            return ended
        handle = self._client.get_workflow_handle(audit_id)
        case: CaseSnapshot = await self._guard(
            audit_id, lambda: handle.query(CameralAudit.snapshot, rpc_timeout=self._query_wait)
        )
        return await run_in_threadpool(with_earlier_events, db, case)

    async def _ended(self, audit_id: str, db: Engine) -> CaseSnapshot | None:
        """The stored case, if its workflow has completed and the stored row is its last
        state (the run writes everything before it ends, unless the read model refused a
        write; then the version differs and the caller asks the workflow)."""
        handle = self._client.get_workflow_handle_for(CameralAudit.run, audit_id)
        description = await self._guard(audit_id, lambda: handle.describe(rpc_timeout=RPC_TIMEOUT))
        if description.status != WorkflowExecutionStatus.COMPLETED:
            return None
        last = await self._guard(audit_id, lambda: handle.result(rpc_timeout=RPC_TIMEOUT))
        stored = await run_in_threadpool(stored_snapshot, db, audit_id)
        return stored if stored is not None and stored.version == last.version else None

    async def update(self, audit_id: str, update: Any, argument: Any) -> CaseSummary:
        result: CaseSummary = await self._update(audit_id, update, argument)
        return result

    async def _update(self, audit_id: str, update: Any, argument: Any) -> Any:
        """Run an update with a deadline; a worker that takes it later refuses it then."""
        handle = self._client.get_workflow_handle(audit_id)
        not_after = datetime.now(UTC) + self._update_wait
        while True:
            try:
                return await self._guard(
                    audit_id,
                    lambda: handle.execute_update(
                        update,
                        argument,
                        id=update_id(getattr(update, "__name__", "update"), not_after),
                        rpc_timeout=not_after - datetime.now(UTC) + timedelta(seconds=1),
                    ),
                )
            except WorkflowUpdateFailedError as error:
                # A case handing over to its next run refuses updates for a moment (the
                # handle follows the workflow id, so the next attempt reaches the new run).
                if handing_over(error) and datetime.now(UTC) + HANDOVER_PAUSE < not_after:
                    await asyncio.sleep(HANDOVER_PAUSE.total_seconds())
                    continue
                raise from_update_failure(error) from error
            except WorkflowUpdateRPCTimeoutOrCancelledError as error:
                raise WorkerUnavailable(audit_id) from error

    async def record_payment(
        self, audit_id: str, payment: Payment
    ) -> Literal["accepted", "duplicate"]:
        """Post a payment; the case answers at once whether it counted it. A case that is
        already decided records that the payment came and answers 409."""
        result: PaymentResult = await self._update(audit_id, CameralAudit.record_payment, payment)
        if result.result == "closed":
            raise ApiError(
                409,
                "closed",
                f"audit {audit_id} is closed ({result.status}); the payment is recorded on the "
                "case but not counted",
            )
        return result.result

    async def signal(self, audit_id: str, signal: Any, *argument: Any) -> None:
        """Signals are kept by Temporal until a worker runs: they need no worker now."""
        handle = self._client.get_workflow_handle(audit_id)
        await self._guard(
            audit_id, lambda: handle.signal(signal, *argument, rpc_timeout=RPC_TIMEOUT)
        )

    async def _guard(self, audit_id: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call`; an unknown id is a 404 and a closed case a 409 naming its outcome."""
        try:
            return await call()
        except RPCError as error:
            if error.status in _UNAVAILABLE or "no poller" in error.message.lower():
                raise WorkerUnavailable(audit_id) from error
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            raise await self._closed_or_missing(audit_id) from error

    async def _closed_or_missing(self, audit_id: str) -> ApiError:
        handle = self._client.get_workflow_handle(audit_id)
        try:
            description = await handle.describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return not_found(audit_id)
            if error.status in _UNAVAILABLE:
                return WorkerUnavailable(audit_id, "Temporal did not answer")
            raise
        if description.status == WorkflowExecutionStatus.RUNNING:
            return ApiError(409, "busy", f"audit {audit_id} is busy; retry in a moment")
        outcome = description.typed_search_attributes.get(STATUS) or str(description.status)
        return ApiError(409, "closed", f"audit {audit_id} is closed ({outcome}); it takes no input")
