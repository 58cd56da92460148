"""The one place that reads configuration: environment variables with the DWH_ prefix.

Every path of the warehouse derives from ``DWH_HOME`` (see the README's table); commands
pass ``--home`` by setting it before they build the settings object.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

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
    # Whether dbt may continue from the last build on DuckDB (decision 0014); off: every
    # build is a full rebuild.
    incremental: bool = True
    # The engine dbt builds the models on (docs/scale-out.md): duckdb, or spark via the
    # Parquet hand-over of the raw layer (DWH_HANDOVER, default DWH_HOME/handover).
    engine: Literal["duckdb", "spark"] = "duckdb"
    handover: str | None = None
    spark_method: Literal["session", "thrift"] = "session"
    spark_master: str = "local[*]"
    spark_remote: str | None = None
    spark_driver_memory: str = "1g"
    spark_shuffle_partitions: int = 4
    spark_models: str | None = None
    spark_host: str = "localhost"
    spark_port: int = 10000
    spark_user: str = "dwh"

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

    @property
    def handover_dir(self) -> str:
        """Where ingest hands the raw layer to Spark as Parquet: a path or a shared-storage URI."""
        return self.handover or str(self.home_dir / "handover")

    @property
    def spark_models_dir(self) -> str:
        """Where Spark writes the models' tables (location_root); read back after dbt."""
        return self.spark_models or str(self.work_dir / "spark" / "models")

    def spark_environment(self) -> dict[str, str]:
        """Variables that dbt_project/profiles.yml's spark targets read."""
        environment = {
            "DWH_HANDOVER_DIR": self.handover_dir,
            "DWH_SPARK_MODELS": self.spark_models_dir,
            "DWH_SPARK_WAREHOUSE": str(self.work_dir / "spark" / "warehouse"),
            "DWH_SPARK_MASTER": self.spark_master,
            "DWH_SPARK_DRIVER_MEMORY": self.spark_driver_memory,
            "DWH_SPARK_SHUFFLE_PARTITIONS": str(self.spark_shuffle_partitions),
            "DWH_SPARK_HOST": self.spark_host,
            "DWH_SPARK_PORT": str(self.spark_port),
            "DWH_SPARK_USER": self.spark_user,
        }
        if self.spark_remote:  # pyspark's builder turns into a Spark Connect client
            environment["SPARK_REMOTE"] = self.spark_remote
        return environment

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
