"""Talking to the case workflows: start, query, update and signal, with Temporal's failures
turned into answers a user understands."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Literal, TypeVar

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError, from_update_failure, not_found
from domain.case import AuditStart, CaseSnapshot, Payment
from domain.lifecycle import AuditStatus
from workflows.cameral_audit import CameralAudit
from workflows.search_attributes import AMOUNT_DUE, INSPECTOR, OFFICE, PARTY_BIN, STATUS

T = TypeVar("T")
QUERY_TIMEOUT = timedelta(seconds=5)
FIRST_SNAPSHOT_POLLS = 30


class WorkerUnavailable(ApiError):
    """No worker answered in time; the case itself is safe in Temporal."""

    def __init__(self, audit_id: str) -> None:
        super().__init__(
            503, "worker_unavailable", f"audit {audit_id}: no worker answered; retry shortly"
        )


class CaseGateway:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def start(self, start: AuditStart) -> CaseSnapshot:
        """Start the workflow; an id used before, even by a closed case, is a 409."""
        try:
            handle = await self._client.start_workflow(
                CameralAudit.run,
                start,
                id=start.audit_id,
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(STATUS, str(AuditStatus.ISSUED)),
                        SearchAttributePair(PARTY_BIN, start.party.bin),
                        SearchAttributePair(INSPECTOR, start.inspector_id),
                        SearchAttributePair(OFFICE, start.customs_office),
                        *(
                            [SearchAttributePair(AMOUNT_DUE, float(start.charges.total))]
                            if start.charges
                            else []
                        ),
                    ]
                ),
            )
        except WorkflowAlreadyStartedError as error:
            raise ApiError(
                409, "exists", f"audit {start.audit_id} already exists; choose another audit_id"
            ) from error
        return await self._first_snapshot(handle)

    async def snapshot(self, audit_id: str) -> CaseSnapshot:
        handle = self._client.get_workflow_handle(audit_id)
        return await self._guard(
            audit_id, lambda: handle.query(CameralAudit.snapshot, rpc_timeout=QUERY_TIMEOUT)
        )

    async def update(self, audit_id: str, update: Any, argument: Any) -> CaseSnapshot:
        handle = self._client.get_workflow_handle(audit_id)
        try:
            result: CaseSnapshot = await self._guard(
                audit_id, lambda: handle.execute_update(update, argument)
            )
        except WorkflowUpdateFailedError as error:
            raise from_update_failure(error) from error
        return result

    async def record_payment(
        self, audit_id: str, payment: Payment
    ) -> Literal["accepted", "duplicate"]:
        """Signal a payment; "duplicate" if the case already counted its reference."""
        try:
            case = await self.snapshot(audit_id)
        except WorkerUnavailable:
            case = None  # cannot tell now; the workflow still counts a reference only once
        if case is not None and any(p.reference == payment.reference for p in case.payments):
            return "duplicate"
        await self.signal(audit_id, CameralAudit.record_payment, payment)
        return "accepted"

    async def signal(self, audit_id: str, signal: Any, *argument: Any) -> None:
        handle = self._client.get_workflow_handle(audit_id)
        await self._guard(audit_id, lambda: handle.signal(signal, *argument))

    async def _guard(self, audit_id: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call`; an unknown id is a 404 and a closed case a 409 naming its outcome."""
        try:
            return await call()
        except RPCError as error:
            if error.status == RPCStatusCode.DEADLINE_EXCEEDED:
                raise WorkerUnavailable(audit_id) from error
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            raise await self._closed_or_missing(audit_id) from error

    async def _closed_or_missing(self, audit_id: str) -> ApiError:
        handle = self._client.get_workflow_handle(audit_id)
        try:
            description = await handle.describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return not_found(audit_id)
            raise
        if description.status == WorkflowExecutionStatus.RUNNING:
            return ApiError(409, "busy", f"audit {audit_id} is busy; retry in a moment")
        outcome = description.typed_search_attributes.get(STATUS) or str(description.status)
        return ApiError(409, "closed", f"audit {audit_id} is closed ({outcome}); it takes no input")

    async def _first_snapshot(self, handle: WorkflowHandle[Any, Any]) -> CaseSnapshot:
        """The new case once its notice is in the cabinet (normally well under a second), so
        the inspector sees the delivery date and deadline; an ISSUED case if that takes long."""
        latest: CaseSnapshot | None = None
        for _ in range(FIRST_SNAPSHOT_POLLS):
            with contextlib.suppress(WorkflowQueryFailedError, RPCError):
                latest = await handle.query(CameralAudit.snapshot, rpc_timeout=QUERY_TIMEOUT)
            if latest is not None and latest.status != AuditStatus.ISSUED:
                return latest
            await asyncio.sleep(0.1)
        if latest is None:
            raise WorkerUnavailable(handle.id)
        return latest
