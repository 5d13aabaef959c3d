"""The FastAPI application: wiring of settings, Temporal client, database and routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from temporalio.client import Client

from api import (
    calendar_routes,
    charge_routes,
    consequence_routes,
    document_routes,
    evidence_routes,
    party_routes,
    payment_routes,
    review_routes,
    routes,
    screening_routes,
    verify_routes,
)
from api.auth import TokenVerifier
from api.cases import CaseGateway
from api.errors import ERROR_RESPONSES, HANDLERS
from api.following import VersionWatch
from api.gate import RequestGate
from api.metrics import RequestMetrics, metrics_endpoint
from config import Settings
from db.engine import make_engine
from db.reference import load_rate_tables
from evidence.authority import authority_trust_anchors
from evidence.signatures import load_crls, load_trust_anchors
from evidence.store import BlobStore
from web.pages import PAGE_PREFIXES
from web.pages import install as install_pages
from web.session import Sessions
from workflows.client import connect


def create_app(settings: Settings, client: Client | None = None) -> FastAPI:
    """The API; pass `client` to share one (tests, `dev`), else it connects on start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.client = client or await connect(
            settings.temporal_address, settings.temporal_namespace
        )
        app.state.engine = make_engine(settings.effective_database_url)
        app.state.tables = load_rate_tables(settings.rates_file)
        app.state.settings = settings
        app.state.version_watch = VersionWatch(app.state.engine)
        app.state.verifier = TokenVerifier(settings)
        app.state.blobs = BlobStore(settings.blob_dir)
        app.state.trust_anchors = (
            load_trust_anchors(settings.signature_trust_anchors.read_bytes())
            if settings.signature_trust_anchors
            else []
        )
        app.state.crls = load_crls([path.read_bytes() for path in settings.signature_crl_files])
        app.state.authority_anchors = load_trust_anchors(authority_trust_anchors(settings))
        app.state.gateway = CaseGateway(
            app.state.client,
            settings.temporal_task_queue,
            query_wait=timedelta(seconds=settings.query_wait_seconds),
            update_wait=timedelta(seconds=settings.update_wait_seconds),
        )
        yield
        app.state.engine.dispose()

    app = FastAPI(
        title="Cameral customs audits",
        description="Post-release customs audits under Art. 417 of the Customs Code of the "
        "Republic of Kazakhstan, each one a durable Temporal workflow.",
        version="0.1.0",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.add_middleware(
        RequestGate,
        max_bytes=settings.request_max_bytes,
        open_prefixes=(*PAGE_PREFIXES, "/verify"),
        larger_bodies={
            path: settings.import_max_bytes
            for path in (*screening_routes.FEEDS, payment_routes.STATEMENT_FEED)
        },
    )
    registry = CollectorRegistry()
    app.add_middleware(RequestMetrics, registry=registry)  # outermost: counts refusals too
    app.add_route("/metrics", metrics_endpoint(registry), include_in_schema=False)
    for kind, handler in HANDLERS:
        app.add_exception_handler(kind, handler)
    app.include_router(routes.router)
    app.include_router(payment_routes.router)
    app.include_router(charge_routes.router)
    app.include_router(evidence_routes.router)
    app.include_router(review_routes.router)
    app.include_router(consequence_routes.router)
    app.include_router(document_routes.router)
    app.include_router(party_routes.router)
    app.include_router(calendar_routes.router)
    app.include_router(screening_routes.router)
    install_pages(app, Sessions(settings))
    app.include_router(verify_routes.router)
    return app
