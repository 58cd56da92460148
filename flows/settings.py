"""The one place that reads configuration: environment variables with the DWH_ prefix.

Every path of the warehouse derives from ``DWH_HOME`` (see the README's table); commands
pass ``--home`` by setting it before they build the settings object.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Typed configuration; field ``home`` is read from ``DWH_HOME`` and so on."""

    model_config = SettingsConfigDict(env_prefix="DWH_", env_file=".env", extra="ignore")

    home: Path = Path("dwh_home")
    landing: Path | None = None
    # DuckDB resource limits for ingest and dbt; the machine has 24 GiB, the target is < 4.
    memory_limit: str = "3GB"
    threads: int = 2
    # Seconds Prefect waits for its temporary API server; 20 s expires on 2 busy cores.
    prefect_startup_timeout: int = 90
    # Alerts (flows/alerts.py): a shell command that reads the JSON on stdin, an URL to POST
    # it to; by default only runs that do not publish alert, with this also published runs
    # with warnings. Seconds before a channel counts as failed.
    alert_command: str | None = None
    alert_url: str | None = None
    alert_on_warnings: bool = False
    alert_timeout: float = 10.0
    # Bounded retries of transient failures (a lock on the work database held for a moment).
    task_retries: int = 2
    task_retry_delay: float = 5.0

    @cached_property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def landing_dir(self) -> Path:
        return (self.landing or self.home_dir / "landing").expanduser().resolve()

    @property
    def work_dir(self) -> Path:
        return self.home_dir / "work"

    @property
    def work_db(self) -> Path:
        """The nightly run's read-write database: raw, ledger, dbt models."""
        return self.work_dir / "warehouse.duckdb"

    @property
    def published_db(self) -> Path:
        return self.home_dir / "published" / "warehouse.duckdb"

    @property
    def quarantine_dir(self) -> Path:
        return self.home_dir / "quarantine"

    @property
    def pseudonym_key(self) -> Path:
        return self.home_dir / "secrets" / "pseudonym.key"

    @property
    def validation_dir(self) -> Path:
        return self.home_dir / "validation"

    @property
    def dbt_target_dir(self) -> Path:
        return self.work_dir / "dbt_target"

    @property
    def prefect_home(self) -> Path:
        return self.home_dir / "prefect"

    @property
    def demo_truth_file(self) -> Path:
        """Ground truth of ``dwh demo``: read by tests only, never by the pipeline."""
        return self.home_dir / "demo" / "ground_truth.json"

    @property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt_project"

    @property
    def expectations_dir(self) -> Path:
        return PROJECT_ROOT / "expectations"

    def prefect_environment(self) -> dict[str, str]:
        """Variables Prefect reads at import: a private home, a patient temporary server."""
        return {
            "PREFECT_HOME": str(self.prefect_home),
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(self.prefect_startup_timeout),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LOG_PRINTS": "true",
        }

    def dbt_environment(self) -> dict[str, str]:
        """Variables that dbt_project/profiles.yml reads."""
        return {
            "DWH_WORK_DB": str(self.work_db),
            "DWH_MEMORY_LIMIT": self.memory_limit,
            "DWH_THREADS": str(self.threads),
            "DWH_TEMP_DIR": str(self.work_dir / "duckdb_tmp"),
        }


def export_environment(settings: Settings) -> None:
    """Hand the settings to the libraries that read the environment (Prefect, dbt)."""
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    for key, value in {**settings.prefect_environment(), **settings.dbt_environment()}.items():
        os.environ[key] = value
