"""The README's first command: `customs-audit dev` runs everything, Ctrl-C stops everything,
and the next start finds every audit as it was."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port
from tests.factories import start_body

START_TIMEOUT = 90
STOP_TIMEOUT = 60


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    cli = Path(sys.executable).parent / "customs-audit"
    with log.open("ab") as out:
        return subprocess.Popen([str(cli), "dev"], env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_healthy(api: str, process: subprocess.Popen[bytes], log: Path) -> None:
    give_up = time.monotonic() + START_TIMEOUT
    while time.monotonic() < give_up:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{api}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"dev did not become healthy:\n{log.read_text()}")


def _eventually(read: Callable[[], list[Any]], timeout: float = 30) -> list[Any]:
    """What `read` returns once it is not empty (alerts go out just after the start)."""
    give_up = time.monotonic() + timeout
    while not (found := read()) and time.monotonic() < give_up:
        time.sleep(0.2)
    return found


def _served(api: str, audit_id: str, auth: dict[str, str]) -> dict[str, Any]:
    """The case once its notice is in the cabinet (it is served just after the start)."""
    give_up = time.monotonic() + 30
    while True:
        case: dict[str, Any] = httpx.get(f"{api}/audits/{audit_id}", headers=auth).json()
        if case["status"] == "AWAITING_RESPONSE" or time.monotonic() > give_up:
            return case
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes], log: Path) -> int:
    """Ctrl-C. If `dev` has not stopped in time, kill it and its Temporal server and fail
    with its log, which says the step it was on and, after 20 s, where it was stuck."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        for child in _children(process.pid):
            os.kill(child, signal.SIGKILL)
        process.kill()
        process.wait()
        raise AssertionError(f"dev did not stop in {STOP_TIMEOUT} s:\n{log.read_text()}") from None


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def test_dev_runs_everything_and_keeps_audits_across_restarts(tmp_path: Path) -> None:
    api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
    smtp_port, sms_port, bank_port, metrics_port = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    )
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "API_PORT": str(api_port),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "TEMPORAL_UI_PORT": str(ui_port),
        "SMTP_PORT": str(smtp_port),
        "SMS_GATEWAY_URL": f"http://127.0.0.1:{sms_port}/messages",
        "BANK_ORDERS_URL": f"http://127.0.0.1:{bank_port}/orders",
        "WORKER_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}",
    }
    env.pop("DATABASE_URL", None)
    api = f"http://127.0.0.1:{api_port}"
    log = tmp_path / "dev.log"

    first = _start(env, log)
    try:
        _wait_healthy(api, first, log)
        token = subprocess.run(
            [
                str(Path(sys.executable).parent / "customs-audit"),
                "token",
                "--role",
                "supervisor",
                "--sub",
                "S-001",
                "--office",
                "55201",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.post(f"{api}/audits", json=start_body(), timeout=30).status_code == 401
        created = httpx.post(f"{api}/audits", json=start_body(), headers=auth, timeout=30)
        assert created.status_code == 201, created.text
        case = _served(api, created.json()["id"], auth)
        assert case["status"] == "AWAITING_RESPONSE"
        ui = httpx.get(f"http://127.0.0.1:{ui_port}/", timeout=10)
        assert ui.status_code == 200
        worker_metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert "temporal_workflow_task" in worker_metrics.text
        assert "api_requests_total" in httpx.get(f"{api}/metrics", timeout=10).text
        texts = _eventually(lambda: httpx.get(env["SMS_GATEWAY_URL"], timeout=5).json())
        assert [t["to"] for t in texts] == [start_body()["party"]["phone"]]
        mails = _eventually(lambda: sorted((tmp_path / "data" / "outbox" / "mail").glob("*.eml")))
        assert case["id"] in mails[0].read_text()
        assert httpx.get(env["BANK_ORDERS_URL"], timeout=5).json() == []  # the banks' interface
    finally:
        code = _stop(first, log)
    assert code == 0, log.read_text()
    assert "dev: stopped" in log.read_text()
    assert (tmp_path / "data" / "temporal.db").exists()
    assert (tmp_path / "data" / "app.db").exists()

    second = _start(env, log)
    try:
        _wait_healthy(api, second, log)
        again = httpx.get(f"{api}/audits/{case['id']}", headers=auth, timeout=30).json()
        listed = httpx.get(f"{api}/audits", headers=auth, timeout=30).json()["items"]
    finally:
        assert _stop(second, log) == 0, log.read_text()
    assert again["status"] == "AWAITING_RESPONSE"
    assert again["response_deadline"] == case["response_deadline"]
    assert [item["id"] for item in listed] == [case["id"]]
