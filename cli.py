"""`customs-audit`: run the whole product on one machine (`dev`), or one part of it."""

import argparse
import asyncio
import faulthandler
import logging
import signal
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from temporalio.client import Client

from api.app import create_app
from api.auth import ROLES, issue_dev_token
from api.errors import ApiError
from api.server import Server
from config import Settings
from db.engine import make_engine
from db.migrate import upgrade
from db.reference import import_rows, load_rate_tables, save_rate_tables
from db.screening_imports import import_declarations, import_postal_items
from devserver import register_search_attributes, start_dev_server, stop_dev_server
from devsinks.bank_gateway import create_bank_gateway
from devsinks.mail import MailSink
from devsinks.sms_gateway import create_gateway
from domain.clock import local_date
from domain.screening.records import BadFile
from evidence.authority import dev_authority
from worker import build_worker, run_worker
from workflows.client import connect, live_pollers, metrics_runtime
from workflows.screening_schedule import ensure_schedule

TEMPORAL_START_TIMEOUT = 60.0
SHUTDOWN_REPORT_AFTER = 20.0  # seconds after Ctrl-C before `dev` prints where it is stuck
API_SHUTDOWN_TIMEOUT = 5  # seconds open requests (a case being followed) get to finish


async def _connect_when_ready(settings: Settings, temporal: subprocess.Popen[bytes]) -> Client:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + TEMPORAL_START_TIMEOUT
    runtime = metrics_runtime(settings.worker_metrics_address)
    while True:
        if temporal.poll() is not None:
            raise SystemExit(
                f"the Temporal dev server exited with code {temporal.returncode}; is "
                f"{settings.temporal_address} or port {settings.temporal_ui_port} in use? "
                "Set TEMPORAL_ADDRESS / TEMPORAL_UI_PORT to free ones."
            )
        try:
            return await connect(settings.temporal_address, settings.temporal_namespace, runtime)
        except RuntimeError:
            if loop.time() > give_up:
                raise
            await asyncio.sleep(0.5)


async def run_dev(settings: Settings) -> None:
    """Temporal dev server (persisting under DATA_DIR), worker and API; Ctrl-C stops all."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    temporal = start_dev_server(settings)
    try:
        client = await _connect_when_ready(settings, temporal)
        engine = make_engine(settings.effective_database_url)
        await ensure_schedule(
            client,
            settings.temporal_task_queue,
            settings.screening_cron,
            settings.screening_schedule,
        )
        worker = build_worker(client, settings.temporal_task_queue, engine, settings)
        api = Server(
            uvicorn.Config(
                create_app(settings, client=client),
                host=settings.api_host,
                port=settings.api_port,
                log_level="info",
                timeout_graceful_shutdown=API_SHUTDOWN_TIMEOUT,
            ),
            signals=False,
        )
        sinks = _DevSinks(settings) if settings.dev_sinks else None
        if sinks:
            await sinks.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        worker_task = asyncio.create_task(worker.run())
        api_task = asyncio.create_task(api.serve())
        print(
            f"Temporal Web UI  http://127.0.0.1:{settings.temporal_ui_port}\n"
            f"API              http://{settings.api_host}:{settings.api_port}/docs\n"
            f"data             {settings.data_dir.resolve()}\n"
            + _signing_line(settings)
            + (sinks.describe() if sinks else "")
            + "Ctrl-C stops everything; audits are kept for the next start.",
            flush=True,
        )
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({stopped, worker_task, api_task}, return_when=asyncio.FIRST_COMPLETED)
        # A part that does not stop (or a thread that holds up the exit) would otherwise
        # leave Ctrl-C hanging with no clue why; the timer is not cancelled for that reason.
        faulthandler.dump_traceback_later(SHUTDOWN_REPORT_AFTER)
        _say("stopping the API")
        api.should_exit = True
        await api_task
        _say("stopping the worker (activities under way finish first)")
        await worker.shutdown()
        if sinks:
            _say("stopping the local mail, SMS and bank sinks")
            await sinks.stop()
        engine.dispose()
        for task in (worker_task, stopped):
            task.cancel()
    finally:
        _say("stopping the Temporal server")
        stop_dev_server(temporal)
    _say("stopped")


def _say(step: str) -> None:
    print(f"dev: {step}", flush=True)


def _signing_line(settings: Settings) -> str:
    """Which key signs issued PDFs: the development CA made in the data folder, unless a
    production key is configured."""
    if settings.document_signing_pkcs11_module or settings.document_signing_pkcs12:
        return ""
    return f"signing CA       {dev_authority(settings.data_dir)[0].resolve()} (development)\n"


class _DevSinks:
    """The local SMTP sink, SMS gateway and banks' interface, on the addresses the settings
    send mail, texts and bank orders to."""

    def __init__(self, settings: Settings) -> None:
        outbox = settings.data_dir / "outbox"
        self._mail = MailSink(settings.smtp_host, settings.smtp_port, outbox / "mail")
        self._outbox = outbox
        sms_journal, bank_journal = outbox / "sms.jsonl", outbox / "bank-orders.jsonl"
        self._http = [
            (
                f"SMS gateway      {settings.sms_gateway_url} (GET lists texts) -> {sms_journal}",
                _local_server(
                    create_gateway(settings.sms_gateway_token.get_secret_value(), sms_journal),
                    settings.sms_gateway_url,
                ),
            ),
            (
                f"bank orders      {settings.bank_orders_url} (GET lists orders) -> {bank_journal}",
                _local_server(
                    create_bank_gateway(
                        settings.bank_orders_token.get_secret_value(), bank_journal
                    ),
                    settings.bank_orders_url,
                ),
            ),
        ]
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._mail.start()
        for _, server in self._http:
            task = asyncio.create_task(server.serve())
            self._tasks.append(task)
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        for _, server in self._http:
            server.should_exit = True
        for task in self._tasks:
            await task
        self._mail.stop()

    def describe(self) -> str:
        mail = f"mail sink        smtp://127.0.0.1:{self._mail.port} -> {self._outbox / 'mail'}\n"
        return mail + "".join(f"{line}\n" for line, _ in self._http)


def _local_server(app: FastAPI, url: str) -> Server:
    """`app` served on the host and port of `url`."""
    address = urlsplit(url)
    return Server(
        uvicorn.Config(
            app, host=address.hostname or "127.0.0.1", port=address.port or 80, log_level="warning"
        ),
        signals=False,
    )


def _import_rates(path: Path, settings: Settings) -> None:
    """Write the tables with the file's rows merged in to RATES_FILE (or DATA_DIR/rates.toml,
    then say to point RATES_FILE at it); nothing is written if any row is refused."""
    target = settings.rates_file or settings.data_dir / "rates.toml"
    try:
        tables, new = import_rows(load_rate_tables(settings.rates_file), path.read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"{path}: {error}") from error
    save_rate_tables(tables, target)
    print(f"{new} new row(s) written to {target}")
    if settings.rates_file is None:
        print(f"set RATES_FILE={target} for the worker and the API to use them")


def _rate_warnings(settings: Settings, today: date) -> list[str]:
    base_rate = load_rate_tables(settings.rates_file).base_rate
    age = base_rate.days_since_last_change(today)
    if age <= settings.base_rate_max_age_days:
        return []
    return [
        f"warning: the newest base-rate row is {age} days old ({base_rate.rows[-1].since}); "
        "add the National Bank's later decisions with `customs-audit rates import`"
    ]


async def _check(settings: Settings) -> None:
    """Exit non-zero unless Temporal and the database answer and a worker polls the task
    queue (container health checks); warn when the base-rate table looks out of date."""
    for warning in _rate_warnings(settings, local_date(datetime.now(UTC))):
        print(warning, file=sys.stderr)
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    await client.service_client.check_health()
    if not await live_pollers(client, settings.temporal_task_queue):
        raise SystemExit(f"no worker polls task queue {settings.temporal_task_queue}")
    engine = make_engine(settings.effective_database_url)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    engine.dispose()


async def _register(settings: Settings) -> None:
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    await register_search_attributes(client, settings.temporal_namespace)


async def _schedules(settings: Settings) -> None:
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    await ensure_schedule(
        client, settings.temporal_task_queue, settings.screening_cron, settings.screening_schedule
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="customs-audit", description="Cameral customs audits on Temporal."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", help="run Temporal dev server + UI, worker and API on this machine")
    commands.add_parser("worker", help="run the Temporal worker")
    commands.add_parser("api", help="run the HTTP API")
    commands.add_parser("migrate", help="bring the application database to the newest schema")
    commands.add_parser("check", help="exit 0 only if Temporal and the database answer")
    token = commands.add_parser(
        "token", help="print a bearer token signed with the local development key"
    )
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--sub", required=True, help="user id, e.g. I-001")
    token.add_argument("--office", help="customs office (inspector, supervisor)")
    token.add_argument("--bin", dest="party_bin", help="BIN/IIN (party)")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="seconds (default 12 h)")
    commands.add_parser(
        "register-search-attributes", help="add the case search attributes to a Temporal server"
    )
    rates = commands.add_parser("rates", help="the dated rate tables (VAT, MCI, base rate)")
    rates_commands = rates.add_subparsers(dest="rates_command", required=True)
    rates_import = rates_commands.add_parser(
        "import", help="merge rows from a CSV (table,since,value) into RATES_FILE"
    )
    rates_import.add_argument("file", type=Path)
    commands.add_parser(
        "schedules", help="create or update the nightly risk-screening schedule in Temporal"
    )
    for feed, what in (("declarations", "declaration lines"), ("postal-items", "postal items")):
        imports = commands.add_parser(feed, help=f"{what} for risk screening")
        action = imports.add_subparsers(dest="action", required=True)
        run = action.add_parser("import", help=f"store {what} from a CSV or JSON-lines file")
        run.add_argument("file", type=Path)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "token":
        _print_token(args, settings)
        return
    if args.command == "rates":
        _import_rates(args.file, settings)
        return
    if args.command in ("declarations", "postal-items"):
        _import_file(args.command, args.file, settings)
        return
    try:
        _run(args.command, settings)
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:
        if "client connect" not in str(error):
            raise
        raise SystemExit(
            f"cannot reach Temporal at {settings.temporal_address}: start it "
            "(`customs-audit dev` runs one) or set TEMPORAL_ADDRESS"
        ) from error


def _import_file(feed: str, path: Path, settings: Settings) -> None:
    """Store a feed file straight in the database (as the import endpoints do); the counts
    and refusals are printed as JSON, and the exit code is 1 if any row was refused."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url)
    how = import_declarations if feed == "declarations" else import_postal_items
    try:
        result = how(engine, path.read_bytes())
    except (OSError, BadFile) as error:
        raise SystemExit(f"cannot import {path}: {error}") from error
    finally:
        engine.dispose()
    print(result.model_dump_json(indent=2))
    if result.refused:
        raise SystemExit(1)


def _print_token(args: argparse.Namespace, settings: Settings) -> None:
    try:
        print(
            issue_dev_token(
                settings,
                role=args.role,
                sub=args.sub,
                office=args.office,
                party_bin=args.party_bin,
                ttl_seconds=args.ttl,
            )
        )
    except ApiError as error:
        raise SystemExit(f"cannot issue that token: {error.message}") from error


def _run(command: str, settings: Settings) -> None:
    if command == "dev":
        asyncio.run(run_dev(settings))
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if command == "worker":
        asyncio.run(run_worker(settings))
    elif command == "api":
        upgrade(settings.effective_database_url)
        config = uvicorn.Config(
            create_app(settings),
            host=settings.api_host,
            port=settings.api_port,
            timeout_graceful_shutdown=API_SHUTDOWN_TIMEOUT,
        )
        Server(config).run()
    elif command == "migrate":
        upgrade(settings.effective_database_url)
    elif command == "check":
        asyncio.run(_check(settings))
    elif command == "register-search-attributes":
        asyncio.run(_register(settings))
    elif command == "schedules":
        asyncio.run(_schedules(settings))


if __name__ == "__main__":
    main()
