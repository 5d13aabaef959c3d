"""Metrics an operator scrapes: the API's requests by route and status, and the Temporal SDK's
own figures of a worker, both in Prometheus' text format."""

import httpx
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from config import Settings
from tests.cases import started
from tests.conftest import free_port
from worker import build_worker
from workflows.client import connect, metrics_runtime


async def test_the_api_counts_requests_by_route_template(api: httpx.AsyncClient) -> None:
    case = await started(api)
    assert (await api.get(f"/audits/{case['id']}")).status_code == 200
    assert (await api.get("/audits/CA-2000-000001")).status_code == 404
    scraped = await api.get("/metrics", headers={"Authorization": ""})
    assert scraped.status_code == 200
    text = scraped.text
    assert 'api_requests_total{method="GET",route="/audits/{audit_id}",status="200"}' in text
    assert 'api_requests_total{method="GET",route="/audits/{audit_id}",status="404"} 1.0' in text
    assert 'api_request_duration_seconds_bucket{le="0.005",method="POST",route="/audits"}' in text
    assert case["id"] not in text  # one series per route, not per case


async def test_a_worker_serves_the_sdk_metrics(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings, api: httpx.AsyncClient
) -> None:
    address = f"127.0.0.1:{free_port()}"
    target = dev_env.client.service_client.config.target_host
    client = await connect(target, settings.temporal_namespace, metrics_runtime(address))
    second = settings.temporal_task_queue + "-metrics"
    async with build_worker(client, second, engine, settings):
        await client.service_client.check_health()
        reply = httpx.get(f"http://{address}/metrics", timeout=10)
    assert reply.status_code == 200
    assert "temporal_request" in reply.text
    assert f'task_queue="{second}"' in reply.text
