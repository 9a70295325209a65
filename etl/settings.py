"""The one Settings object: flags, then ETL_* environment variables, then defaults."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from etl.errors import HIDDEN, ConfigError, url_secrets, written_forms

# The backends' schemes; `+psycopg` is the SQLAlchemy spelling of the driver the PostgreSQL backend uses.
WAREHOUSE_SCHEMES = frozenset(
    {"duckdb", "postgresql", "postgres", "postgresql+psycopg", "postgres+psycopg", "redshift"}
)
_SCHEME_SHAPE = re.compile(r"[a-z][a-z0-9+.-]{0,30}")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
MemoryPool = Literal["jemalloc", "mimalloc", "system"]
DataTestMode = Literal["scoped", "daily", "full"]


class Settings(BaseSettings):
    """Built once at the entry point (CLI or Lambda handler) and passed down; nothing reads the environment elsewhere."""

    model_config = SettingsConfigDict(env_prefix="ETL_", extra="ignore", frozen=True)

    lake: str = Field("lake", description="Lake root: a local folder or s3://bucket/prefix")
    warehouse_url: str = Field(
        "duckdb:///warehouse.duckdb", description="duckdb:///file, postgresql://..., redshift://..."
    )
    glue_database: str | None = Field(None, description="Glue database the S3 lake tables are registered in")
    sns_topic_arn: str | None = Field(None, description="SNS topic that receives run summaries")
    slack_webhook_url: SecretStr | None = Field(
        None, description="Slack incoming webhook for run summaries (local runs; AWS posts through Chatbot)"
    )
    profile: str | None = Field(
        None,
        description="Profile of the input files' layouts: a TOML file, locally or s3://bucket/key "
        "(default: every file as the contracts describe it)",
    )
    extract_out: str = Field(
        "data",
        description="Where `etl extract` writes its files (<out>/<source>/<name>/): a local folder, or "
        "s3://bucket/prefix (on AWS the raw bucket's incoming/, which loads them like uploads)",
    )
    log_level: LogLevel = "INFO"
    chunk_bytes: int = Field(4 << 20, ge=1 << 16, description="CSV bytes parsed per chunk (bounds memory)")
    max_quarantine_rate: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="A file whose quarantined share of rows is above this is rejected whole (its quarantine is kept)",
    )
    mask_narration: bool = Field(
        False, description="Mask bank-statement narrations in the lake, quarantine and logs"
    )
    duckdb_memory_limit: str = Field("128MB", description="Memory cap for the embedded DuckDB engine")
    arrow_memory_pool: MemoryPool = Field(
        "jemalloc", description="Allocator for Arrow buffers (jemalloc: ~20% lower peak RSS than mimalloc)"
    )
    data_tests: DataTestMode = Field(
        "daily",
        description="After a load, test what the run changed (scoped), that and the whole warehouse on the "
        "first run of each UTC day (daily), or the whole warehouse every run (full)",
    )
    fargate_min_bytes: int = Field(
        1 << 30, description="Objects at least this large are handed to ECS Fargate"
    )
    fargate_cluster: str | None = None
    fargate_task_definition: str | None = None
    fargate_max_attempts: int = Field(
        3, ge=1, description="Runs of a Fargate task per object before its stop event is left to the DLQ"
    )
    fargate_container: str = Field(
        "etl", description="Container of the Fargate task definition that runs the image (its command is set)"
    )
    fargate_subnets: str | None = None
    fargate_security_groups: str | None = None
    currency: str = Field(
        "NGN", description="ISO 4217 code of the money columns, shown beside every amount on the dashboards"
    )
    calendar_start: date | None = Field(
        None, description="First day of dim_date (default: 1 January of the earliest year in the data)"
    )
    calendar_end: date | None = Field(
        None,
        description="Last day of dim_date (default: 31 December of the year after the latest in the data)",
    )
    score_baseline: str | None = Field(
        None,
        description="Origination quarter (yyyy-Qn) whose application scores the PSI compares each month "
        "with (default: the first quarter in the data)",
    )

    @field_validator("currency", mode="before")
    @classmethod
    def _currency_code(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().upper()
            if not re.fullmatch(r"[A-Z]{3}", value):
                raise ValueError(f"{value!r} is not a three-letter ISO 4217 currency code such as NGN")
        return value

    @field_validator("score_baseline", mode="before")
    @classmethod
    def _quarter(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().upper() or None
            if value is not None and not re.fullmatch(r"\d{4}-Q[1-4]", value):
                raise ValueError(f"{value!r} is not a quarter: use yyyy-Qn, such as 2023-Q1")
        return value

    @model_validator(mode="after")
    def _calendar_order(self) -> Settings:
        if self.calendar_start and self.calendar_end and self.calendar_start > self.calendar_end:
            raise ValueError(
                f"calendar_start {self.calendar_start} is after calendar_end {self.calendar_end}"
            )
        return self

    @field_validator("profile", mode="before")
    @classmethod
    def _profile_location(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip() or None
            if value is not None and "://" in value and not value.lower().startswith("s3://"):
                raise ValueError(f"{value!r}: a profile is a local file or s3://bucket/key")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("lake")
    @classmethod
    def _lake_location(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the lake is empty: use a local folder or s3://bucket/prefix")
        if "://" not in value:
            return value
        scheme, rest = value.split("://", 1)
        if scheme.lower() != "s3":
            raise ValueError(
                f"unsupported lake URL scheme {scheme!r}: use a local folder or s3://bucket/prefix"
            )
        if not rest.split("/", 1)[0]:
            raise ValueError(f"lake {value!r} names no bucket: use s3://bucket/prefix")
        return f"s3://{rest}"

    @field_validator("extract_out")
    @classmethod
    def _extract_location(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the extraction output is empty: use a local folder or s3://bucket/prefix")
        if "://" not in value:
            return value
        scheme, rest = value.split("://", 1)
        if scheme.lower() != "s3" or not rest.split("/", 1)[0]:
            raise ValueError(f"extraction output {value!r}: use a local folder or s3://bucket/prefix")
        return f"s3://{rest}"

    @field_validator("warehouse_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        # The message names the scheme only when it is one: what stands before the first ":" of a
        # key=value conninfo or a URL typed without a scheme may be its password.
        scheme = value.split(":", 1)[0].lower()
        if scheme not in WAREHOUSE_SCHEMES:
            what = f"scheme {scheme!r}" if ":" in value and _SCHEME_SHAPE.fullmatch(scheme) else "form"
            raise ValueError(
                f"unsupported warehouse URL {what}: use duckdb:///, postgresql:// or redshift://"
            )
        return value

    def secrets(self) -> dict[str, str]:
        """What these settings hold that must never be shown, each form with what is shown instead: the
        warehouse URL's password (however it is written or cut, see `etl.errors.url_secrets`) and the whole
        URL, and the Slack webhook URL with its path."""
        hidden = url_secrets(self.warehouse_url)
        if self.slack_webhook_url is not None:
            webhook = self.slack_webhook_url.get_secret_value()
            path = urlsplit(webhook).path
            for piece in (webhook, path if len(path) > 1 else ""):
                hidden.update(dict.fromkeys((f for f in written_forms(piece) if piece), HIDDEN))
        return hidden


def invalid_setting(exc: ValidationError) -> str:
    """One line for the first invalid setting: its name and the rule it breaks (pydantic's "Value error, "
    prefix left out)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "settings"
    return f"invalid setting {where}: {first['msg'].removeprefix('Value error, ')}"


def settings_from_env() -> Settings:
    """Settings from the ETL_* environment variables alone (the Lambda and the Fargate task have no flags).

    A bad value is reported by name and rule only: pydantic's own message quotes the value, and a
    warehouse URL may carry a password.
    """
    no_flags: dict[str, Any] = {}
    try:
        return Settings(**no_flags)
    except ValidationError as exc:
        raise ConfigError(invalid_setting(exc)) from None
