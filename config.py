"""The one place configuration is read: environment variables (or a `.env` file)."""

from datetime import timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.penalty import DayCount, PenaltyTerms


class Settings(BaseSettings):
    """Defaults give the embedded single-machine setup; production overrides them."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "cameral-audit"
    temporal_ui_port: int = 8233
    # How long the API waits for a worker: a query (then the stored copy is shown), and an
    # update (then 503; the case refuses the update if a worker takes it later).
    query_wait_seconds: float = 3
    update_wait_seconds: float = 10
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 15
    mail_from: str = "noreply@customs.local"
    staff_alert_email: str = "inspectors@customs.local"

    sms_gateway_url: str = "http://127.0.0.1:8026/messages"
    sms_gateway_token: SecretStr = SecretStr("dev-token")
    sms_timeout_seconds: float = 10
    webhook_timeout_seconds: float = 10
    # Alerts (e-mail, SMS, webhook, staff) are retried with backoff until this many hours
    # after the first try, then reported as failed (staff told); a gateway outage of hours
    # loses nothing.
    alert_retry_hours: Annotated[float, Field(gt=0, le=24 * 14)] = 24
    # Receivers on loopback, private, link-local (cloud metadata) or reserved addresses are
    # refused unless their host is listed here (e.g. an intranet bridge of a large importer).
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = []
    # Orders on a party's bank accounts (Art. 125: suspend debit operations, lift that) go to
    # the banks' interface; retried with backoff until this many hours after the first try,
    # then reported as failed so that staff deliver the order another way.
    bank_orders_url: str = "http://127.0.0.1:8027/orders"
    bank_orders_token: SecretStr = SecretStr("dev-token")
    bank_orders_timeout_seconds: float = 10
    bank_order_retry_hours: Annotated[float, Field(gt=0, le=24 * 14)] = 24

    dev_sinks: bool = True
    rates_file: Path | None = None
    base_rate_max_age_days: int = 60  # `check` warns when the newest base-rate row is older
    # The open questions of the penalty rule, each read the way that charges the party least
    # (README, "Rules and where they come from"). A case keeps the terms it started with.
    penalty_fee_in_base: bool = False
    penalty_day_count: DayCount = "actual"
    penalty_during_notification_period: bool = False

    log_level: str = "INFO"
    worker_metrics_address: str = "127.0.0.1:9464"  # Temporal SDK metrics; "" turns them off
    request_max_bytes: int = 64 * 1024 * 1024  # any body; must exceed the upload limits
    upload_max_file_bytes: int = 20 * 1024 * 1024
    upload_max_case_bytes: int = 200 * 1024 * 1024
    upload_allowed_types: Annotated[list[str], NoDecode] = [
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/tiff",
        "application/zip",
        "application/xml",
        "text/plain",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    signature_trust_anchors: Path | None = None
    signature_revocation: Literal["off", "soft-fail", "hard-fail"] = "soft-fail"
    signature_crl_files: Annotated[list[Path], NoDecode] = []
    document_request_working_days: int = 5
    # The authority's key for issued PDFs: a PKCS#11 token, else a PKCS#12 file, else a local
    # development CA and certificate made once under DATA_DIR/pki (and trusted by /verify).
    document_signing_pkcs12: Path | None = None
    document_signing_password: SecretStr | None = None
    document_signing_pkcs11_module: Path | None = None
    document_signing_pkcs11_token: str | None = None
    document_signing_pkcs11_key_label: str | None = None
    document_signing_pkcs11_pin: SecretStr | None = None
    document_signing_location: str = "Astana, Kazakhstan"
    # An RFC 3161 timestamp authority: signatures become PAdES B-T instead of B-B.
    document_timestamp_url: str | None = None

    auth_issuer: str = "customs-audit-dev"
    auth_audience: str = "customs-audit"
    auth_jwks_url: str | None = None
    auth_public_key_file: Path | None = None
    auth_dev_key_file: Path | None = None

    # Browser pages: sign-in through the identity provider above (authorization code + PKCE)
    # unless the embedded dev key is in use; the session cookie is signed with this secret
    # (made on first use in the data folder when unset).
    web_client_id: str | None = None
    web_client_secret: SecretStr | None = None
    web_session_secret: SecretStr | None = None
    web_session_minutes: int = 480
    temporal_ui_url: str | None = None  # default: the dev server's UI on TEMPORAL_UI_PORT
    payment_beneficiary: str = "State Revenue Committee (set PAYMENT_BENEFICIARY)"
    payment_account: str = "KZ000000000000000000 (set PAYMENT_ACCOUNT)"
    payment_bank_bic: str = "KKMFKZ2A"

    reminder_working_days: Annotated[list[int], NoDecode] = [5, 1]
    # Working days the treasury feed may take to post a payment made on the last day; the
    # decision on silence waits for them (Art. 417: a payment is judged by its date).
    payment_posting_working_days: Annotated[int, Field(ge=1, le=2)] = 1

    # Risk screening (price rule, postal rule, nightly schedule).
    screening_window_days: Annotated[int, Field(ge=1, le=3660)] = 365
    screening_min_lines: Annotated[int, Field(ge=1)] = 20
    screening_min_declarants: Annotated[int, Field(ge=1)] = 3
    screening_median_share: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.8")
    screening_percentile: Annotated[int, Field(ge=1, le=50)] = 10
    screening_same_origin: bool = False
    screening_batch_lines: Annotated[int, Field(ge=1)] = 250_000
    screening_threads: Annotated[int, Field(ge=1)] = 2
    screening_cron: str = "0 2 * * *"
    screening_schedule: bool = True
    postal_rule: bool = True
    postal_max_units: Annotated[int, Field(ge=1)] = 3
    postal_max_parcels: Annotated[int, Field(ge=1)] = 3
    import_max_bytes: int = 512 * 1024 * 1024
    statement_concurrency: Annotated[int, Field(ge=1, le=256)] = 16

    @field_validator(
        "reminder_working_days",
        "upload_allowed_types",
        "signature_crl_files",
        "webhook_allowed_hosts",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def workflow_ui(self) -> str:
        """Where the dashboard links a case's workflow in the Temporal Web UI."""
        return (self.temporal_ui_url or f"http://localhost:{self.temporal_ui_port}").rstrip("/")

    @property
    def penalty_terms(self) -> PenaltyTerms:
        """The terms a case started now has its penalty computed under, for all its life."""
        return PenaltyTerms(
            fee_in_base=self.penalty_fee_in_base,
            day_count=self.penalty_day_count,
            during_notification_period=self.penalty_during_notification_period,
        )

    @property
    def alert_give_up(self) -> timedelta:
        return timedelta(hours=self.alert_retry_hours)

    @property
    def bank_order_give_up(self) -> timedelta:
        return timedelta(hours=self.bank_order_retry_hours)

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @cached_property
    def effective_database_url(self) -> str:
        """DATABASE_URL, or an SQLite file in the data folder for the embedded default."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'app.db').resolve()}"

    @property
    def temporal_port(self) -> int:
        return int(self.temporal_address.rsplit(":", 1)[1])
