"""Faults on the real servers, the way a customs post meets them: the worker process killed
with SIGKILL at every stage of a case, the mail relay down for a while, the database refusing
connections. Each case ends as it should and no party gets a second copy of any message."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config import Settings
from db.engine import make_engine, normalise_url
from devserver import start_dev_server, stop_dev_server
from devsinks.mail import MailSink
from tests.cases import until
from tests.conftest import free_port, serving
from tests.deliveries import alerts_done, attempts, eventually
from tests.factories import AMOUNT_DUE, explanation_body, start_body
from tests.tokens import ByEndpoint, Tokens
from worker import build_worker
from workflows.client import connect


def _environment(settings: Settings, target: str) -> dict[str, str]:
    """The settings of the test as the environment of a `customs-audit worker` process."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    for name, value in settings.model_dump(exclude_unset=True).items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = ",".join(str(item) for item in value)
        env[name.upper()] = str(value)
    env["TEMPORAL_ADDRESS"] = target
    env["WORKER_METRICS_ADDRESS"] = ""
    return env


@asynccontextmanager
async def _worker_process(
    env: dict[str, str], api: httpx.AsyncClient, log: Path
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """A worker in its own process, yielded once it polls; killed (SIGKILL) if still alive."""
    cli = Path(sys.executable).parent / "customs-audit"
    with log.open("ab") as out:
        process = subprocess.Popen([str(cli), "worker"], env=env, stdout=out, stderr=out)
    try:
        for _ in range(300):
            assert process.poll() is None, log.read_text()[-3000:]
            if (await api.get("/healthz")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def _post_until_taken(api: httpx.AsyncClient, url: str, body: Any) -> httpx.Response:
    """POST as a client should: a 503 (no worker took it in time) is sent again."""
    for _ in range(20):
        reply = await api.post(url, json=body)
        if reply.status_code != 503:
            return reply
        await asyncio.sleep(1)
    return reply


async def _retrying(api: httpx.AsyncClient, audit_id: str) -> bool:
    case = (await api.get(f"/audits/{audit_id}")).json()
    return any(p["channel"] == "sms" for p in case.get("alerts_retrying", []))


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


async def test_a_worker_killed_at_every_stage_loses_and_repeats_nothing(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    mail_sink: MailSink,
    sms_gateway: str,
    tmp_path: Path,
) -> None:
    target = dev_env.client.service_client.config.target_host
    env = _environment(settings, target)
    log = tmp_path / "worker.log"
    app = create_app(settings, client=dev_env.client)
    tokens = Tokens(settings)
    resends_before = len(mail_sink.resends)
    async with (
        serving(app) as url,
        httpx.AsyncClient(base_url=url, timeout=30, auth=ByEndpoint(tokens)) as api,
    ):
        async with _worker_process(env, api, log) as first:
            waiting, explained, reviewing = [
                (await api.post("/audits", json=start_body())).json()["id"] for _ in range(3)
            ]
            for audit in (waiting, explained, reviewing):
                await until(api, audit, "AWAITING_RESPONSE")
            for audit in (explained, reviewing):
                case = (await api.get(f"/audits/{audit}")).json()
                reply = await api.post(f"/audits/{audit}/explanation", json=explanation_body(case))
                assert reply.status_code == 200, reply.text
            fresh = (await api.post("/audits", json=start_body())).json()["id"]
            _kill(first)  # before service of `fresh`, right after the explanation of `explained`

        async with _worker_process(env, api, log) as second:
            served = await until(api, fresh, "AWAITING_RESPONSE")
            decided = await _post_until_taken(
                api, f"/audits/{reviewing}/review", {"decision": "reject", "reasons": "unproven"}
            )
            assert decided.status_code == 200, decided.text
            _kill(second)  # while the decision is being issued and delivered

        async with _worker_process(env, api, log):
            for audit, case in ((waiting, None), (fresh, served)):
                issued = (
                    case["issued_on"]
                    if case
                    else (await api.get(f"/audits/{audit}")).json()["issued_on"]
                )
                pay = {"reference": f"PAY-{audit}", "amount": str(AMOUNT_DUE), "paid_at": issued}
                paid = await api.post(f"/audits/{audit}/payments", json=pay)
                assert paid.status_code == 202, paid.text
            accepted = await _post_until_taken(
                api, f"/audits/{explained}/review", {"decision": "accept"}
            )
            assert accepted.status_code == 200, accepted.text
            ends = {
                waiting: await until(api, waiting, "FULFILLED"),
                fresh: await until(api, fresh, "FULFILLED"),
                explained: await until(api, explained, "EXPLANATION_ACCEPTED"),
                reviewing: await until(api, reviewing, "UNFULFILLED"),
            }
            await asyncio.sleep(3)  # the last alerts of the decisions
            async with httpx.AsyncClient(base_url=sms_gateway) as gateway:
                texts = (await gateway.get("/messages")).json()

    for audit, case in ends.items():
        numbers = [
            e["details"]["document"] for e in case["events"] if e["kind"] == "document_issued"
        ]
        assert len(numbers) == len(set(numbers)), (audit, numbers)
        mails = [m for m in mail_sink.messages if audit in str(m["Subject"])]
        subjects = [str(m["Subject"]) for m in mails]
        assert len(subjects) == len(set(subjects)), (audit, subjects)  # one copy of each
        assert subjects, audit  # the alerts went out
        sms = [t["reference"] for t in texts if audit in t["reference"]]
        assert len(sms) == len(set(sms)), (audit, sms)
    resent = len(mail_sink.resends) - resends_before
    print(f"cases ended: {len(ends)}; copies the mail sink recognised as resends: {resent}")


@pytest.fixture
def database_outage(database_url: str) -> Iterator[Any]:
    """Switch the test's PostgreSQL database between refusing and taking connections."""
    name = make_url(normalise_url(database_url)).database
    admin = make_engine(os.environ["DATABASE_URL"]).execution_options(isolation_level="AUTOCOMMIT")

    def outage(down: bool) -> None:
        with admin.connect() as connection:
            allow = "false" if down else "true"
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allow}'))
            if down:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )

    yield outage
    outage(False)
    admin.dispose()


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (DATABASE_URL) to take the database away and back",
)
async def test_without_the_database_the_api_answers_503_and_catches_up(
    api: httpx.AsyncClient, database_outage: Any
) -> None:
    explicit = start_body()
    await asyncio.to_thread(database_outage, True)
    try:
        listing = await api.get("/audits")
        generated = await api.post("/audits", json={**start_body(), "audit_id": None})
        started = await api.post("/audits", json=explicit)  # Temporal takes it; the row waits
    finally:
        await asyncio.to_thread(database_outage, False)
    assert listing.status_code == 503 and listing.headers["retry-after"]
    assert listing.json()["code"] == "database_unavailable"
    assert generated.status_code == 503  # no id could be numbered: nothing started
    assert started.status_code == 201, started.text
    for _ in range(300):  # the row comes with the projection's next try
        if (await api.get(f"/audits/{explicit['audit_id']}")).status_code == 200:
            break
        await asyncio.sleep(0.1)
    case = await until(api, explicit["audit_id"], "AWAITING_RESPONSE")
    listed = (await api.get("/audits", params={"inspector_id": explicit["inspector_id"]})).json()
    assert case["id"] in [item["id"] for item in listed["items"]]


async def test_a_mail_relay_down_for_a_while_gets_each_alert_once(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    relay = MailSink("127.0.0.1", free_port())
    settings = settings.model_copy(update={"smtp_port": relay.port})
    app = create_app(settings, client=dev_env.client)
    async with (
        build_worker(dev_env.client, settings.temporal_task_queue, engine, settings),
        serving(app) as url,
        httpx.AsyncClient(base_url=url, timeout=30, auth=ByEndpoint(Tokens(settings))) as api,
    ):
        case = (await api.post("/audits", json=start_body())).json()
        await asyncio.sleep(4)  # the first tries find nothing listening
        relay.start()
        try:
            for _ in range(300):
                mails = [m for m in relay.messages if case["id"] in str(m["Subject"])]
                if mails:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)
            mails = [m for m in relay.messages if case["id"] in str(m["Subject"])]
            done = (await api.get(f"/audits/{case['id']}")).json()
        finally:
            relay.stop()
    tries = [
        e["details"]["status"]
        for e in done["events"]
        if e["kind"] == "delivery_attempt" and e["details"]["channel"] == "email"
    ]
    assert len(mails) == 1 and relay.resends == []
    assert tries[-1] == "sent" and "temporary-failure" in tries, tries


async def test_the_temporal_server_restarted_on_its_file_loses_nothing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{free_port()}",
            "temporal_ui_port": free_port(),
            "data_dir": tmp_path / "temporal",
            "query_wait_seconds": 1,
            "update_wait_seconds": 2,
        }
    )

    async def connected() -> Client:
        for _ in range(300):
            try:
                return await connect(settings.temporal_address, settings.temporal_namespace)
            except RuntimeError:
                await asyncio.sleep(0.1)
        raise AssertionError("the dev server did not come up")

    gateway = settings.sms_gateway_url.removesuffix("/messages")
    server = start_dev_server(settings)
    try:
        client = await connected()
        app = create_app(settings, client=client)
        async with (
            build_worker(client, settings.temporal_task_queue, engine, settings),
            serving(app) as url,
            httpx.AsyncClient(base_url=url, timeout=30, auth=ByEndpoint(Tokens(settings))) as api,
        ):
            case = await until(
                api,
                (await api.post("/audits", json=start_body())).json()["id"],
                "AWAITING_RESPONSE",
            )
            # A second case's SMS keeps failing, so its retry waits on a server timer while
            # the server is down; that timer has to fire after the restart.
            async with httpx.AsyncClient(base_url=gateway) as faults:
                await faults.post("/faults", json={"mode": "fail", "times": 5})
            alerted = await until(
                api,
                (await api.post("/audits", json=start_body())).json()["id"],
                "AWAITING_RESPONSE",
            )
            retrying = await eventually(lambda: _retrying(api, alerted["id"]), timeout=30)
            stop_dev_server(server)
            read = await api.get(f"/audits/{case['id']}")
            explained = await api.post(
                f"/audits/{case['id']}/explanation", json=explanation_body(case)
            )
            started = await api.post("/audits", json=start_body())
            health = await api.get("/healthz")
            server = start_dev_server(settings)
            await connected()
            again = await _post_until_taken(
                api, f"/audits/{case['id']}/explanation", explanation_body(case)
            )
            accepted = await _post_until_taken(
                api, f"/audits/{case['id']}/review", {"decision": "accept"}
            )
            done = await until(api, case["id"], "EXPLANATION_ACCEPTED")
            after = await alerts_done(api, alerted["id"])
            async with httpx.AsyncClient(base_url=gateway) as sink:
                texts = [
                    t
                    for t in (await sink.get("/messages")).json()
                    if alerted["id"] in t["reference"]
                ]
    finally:
        stop_dev_server(server)
    assert retrying and attempts(after, "sms")[-1] == "sent" and after["alerts_retrying"] == []
    assert len(texts) == 1  # the retry after the restart sent it once
    assert read.status_code == 200 and read.json()["live"] is False
    assert explained.status_code == 503 and explained.headers["retry-after"]
    assert started.status_code == 503
    assert health.status_code == 503 and health.json()["temporal"].startswith("unreachable")
    assert again.status_code == 200 and again.json()["status"] == "UNDER_REVIEW"
    assert accepted.status_code == 200
    assert done["response_deadline"] == case["response_deadline"]  # the timer survived too
