"""How every process connects to Temporal: client and worker must share the data converter
(pydantic's, so dates and Decimals round-trip)."""

from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from workflows.payloads import data_converter

POLL_FRESHNESS = timedelta(seconds=90)


def metrics_runtime(address: str) -> Runtime | None:
    """A runtime serving the SDK's own metrics at `address` (host:port) for Prometheus: those
    of the client and of every worker built on it (task latencies, polls, failures). Make it
    once per process: it holds the port."""
    if not address:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


async def connect(address: str, namespace: str, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        address, namespace=namespace, data_converter=data_converter, runtime=runtime
    )


async def live_pollers(client: Client, task_queue: str, within: timedelta = POLL_FRESHNESS) -> int:
    """How many workers polled `task_queue` for workflow tasks lately. The server remembers a
    poller for minutes after it has gone, so only recent polls count: a worker long-polls
    about once a minute while it runs."""
    reply = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        timeout=timedelta(seconds=5),
    )
    cutoff = datetime.now(UTC) - within
    return sum(1 for poller in reply.pollers if poller.last_access_time.ToDatetime(UTC) >= cutoff)
