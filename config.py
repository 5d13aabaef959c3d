"""The one place configuration is read: environment variables (or a `.env` file)."""

from functools import cached_property
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Defaults give the embedded single-machine setup; production overrides them."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "cameral-audit"
    temporal_ui_port: int = 8233
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    @cached_property
    def effective_database_url(self) -> str:
        """DATABASE_URL, or an SQLite file in the data folder for the embedded default."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'app.db').resolve()}"

    @property
    def temporal_port(self) -> int:
        return int(self.temporal_address.rsplit(":", 1)[1])
