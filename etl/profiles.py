"""Source profiles: a user's own file layouts, declared in one TOML file, without code changes.

A profile has `[[layout]]` tables. Each names a source and, optionally, a folder under that source's
folder (`incoming/bank_statements/<bank>/` on S3, `<data>/bank_statements/<bank>/` locally), and says how
that layout differs from the contract: its headers (`columns`), its date formats (explicit: an ambiguous
value is never guessed row by row), its decimal and thousands separators, the currency symbols to strip,
separate debit and credit columns instead of a signed amount, narration rules that extend or replace the
built-in ones, which extra columns to keep, and the file's quarantine budget and conflict policy. The most
specific layout of a file's source and folder applies; a file no layout names is read by the contract
alone.

A profile that is wrong is refused whole, before anything loads, with one line naming the file, the key
and the problem (`ProfileError`, exit code 2).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from etl.contracts import (
    CATEGORIES,
    CONFLICT_POLICIES,
    CONTRACTS,
    ConflictPolicy,
    SourceContract,
    SourceName,
    normalise_header,
    source_from_folder,
    source_list,
)
from etl.errors import ConfigError

# What a strptime format may hold: the directives a date needs, literal separators, and nothing that
# would make a date depend on the machine's locale or the time of day.
_DIRECTIVES = set("dmyYbBj")
NARRATION = "narration"  # the column narration rules read


class ProfileError(ConfigError):
    """A profile that cannot be used: the file, the key and the problem, in one line."""


class NarrationRule(BaseModel):
    """A user's narration rule: narrations matching `pattern` (RE2, case-insensitive) are `category`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    pattern: str

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}: use one of {', '.join(CATEGORIES)}")
        return value

    @field_validator("pattern")
    @classmethod
    def _re2(cls, value: str) -> str:
        if not value:
            raise ValueError("the pattern is empty")
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            pc.match_substring_regex(pa.array(["probe"]), value, ignore_case=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(f"invalid RE2 pattern {value!r}: {' '.join(str(exc).split())}") from None
        return value


Separator = Literal[".", ","]
Thousands = Literal[",", ".", " ", "'", "none"]


class Layout(BaseModel):
    """How files of one source (in one folder) differ from the contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    folder: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)  # their header -> contract column
    date_format: str | None = None  # every date column
    date_formats: dict[str, str] = Field(default_factory=dict)  # contract column -> format
    decimal: Separator = "."
    thousands: Thousands = ","
    currency: list[str] = Field(default_factory=list)
    debit: str | None = None  # header of the debit column: the amount is minus its value
    credit: str | None = None  # header of the credit column
    narration_rules: list[NarrationRule] = Field(default_factory=list)
    narration_rules_mode: Literal["extend", "replace"] = "extend"
    keep: list[str] = Field(default_factory=list)  # extra headers kept in the fact's attributes
    max_quarantine_rate: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    conflict_policy: ConflictPolicy | None = None

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        return known_source(value)

    @field_validator("folder")
    @classmethod
    def _relative_folder(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = [p for p in PurePosixPath(value.strip().strip("/")).parts if p not in {"", "."}]
        if not parts or ".." in parts:
            raise ValueError(f"folder {value!r} must be a path under the source's folder, like 'gtbank'")
        return "/".join(parts)

    @field_validator("date_format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        return None if value is None else check_date_format(value)

    @field_validator("currency")
    @classmethod
    def _symbols(cls, value: list[str]) -> list[str]:
        for symbol in value:
            if not symbol.strip() or any(ch.isdigit() or ch in ".,-+" for ch in symbol):
                raise ValueError(
                    f"currency symbol {symbol!r} must be non-empty and hold no digit, sign or separator"
                )
        return sorted(value, key=len, reverse=True)  # "NGN" before "N"

    @model_validator(mode="after")
    def _against_the_contract(self) -> Layout:
        contract = CONTRACTS[self.source]  # type: ignore[index]
        problems: list[str] = []
        targets: dict[str, str] = {}
        for theirs, ours in self.columns.items():
            if ours not in contract.names:
                problems.append(
                    f"columns.{theirs!r}: {self.source} has no column {ours!r} "
                    f"(its columns: {', '.join(contract.names)})"
                )
            elif ours in targets:
                problems.append(f"columns: {targets[ours]!r} and {theirs!r} both map to {ours}")
            else:
                targets[ours] = theirs
        dates = set(contract.date_columns)
        for column, fmt in self.date_formats.items():
            if column not in dates:
                problems.append(
                    f"date_formats.{column}: not a date column of {self.source} ({', '.join(sorted(dates))})"
                )
            else:
                try:
                    check_date_format(fmt)
                except ValueError as exc:
                    problems.append(f"date_formats.{column}: {exc}")
        amount = signed_amount_column(contract)
        if (self.debit or self.credit) and amount is None:
            problems.append(f"debit/credit: {self.source} has no signed amount column to build")
        if (self.debit is None) != (self.credit is None):
            problems.append("debit and credit: give both headers, or neither")
        if self.debit and self.credit and normalise_header(self.debit) == normalise_header(self.credit):
            problems.append("debit and credit: the same header")
        if self.debit and amount is not None and amount in targets:
            problems.append(f"debit/credit: {amount} is built from them, so no header may map to it")
        if self.narration_rules and NARRATION not in contract.names:
            problems.append(f"narration_rules: {self.source} has no {NARRATION} column to categorise")
        if self.decimal == self.thousands:
            problems.append(f"decimal and thousands: both {self.decimal!r}")
        if problems:
            raise ValueError(problems[0])
        return self

    # ---- what the pipeline asks -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """`<source>` or `<source>/<folder>`: where the layout applies."""
        return f"{self.source}/{self.folder}" if self.folder else self.source

    def renames(self) -> dict[str, str]:
        """Normalised header -> contract column."""
        return {normalise_header(theirs): ours for theirs, ours in self.columns.items()}

    def format_of(self, column: str) -> str | None:
        return self.date_formats.get(column) or self.date_format

    def kept(self) -> tuple[str, ...]:
        return tuple(normalise_header(h) for h in self.keep)


def known_source(value: str) -> str:
    """The source a name or folder alias means; ValueError naming the sources otherwise."""
    found = source_from_folder(value)
    if found is None:
        raise ValueError(f"unknown source {value!r}: use {source_list()}")
    return found


def check_date_format(value: str) -> str:
    """`value` when it is a strptime format of a day: %d, %m or %b/%B, %Y or %y, and literal text."""
    directives = re.findall(r"%(.)", value)
    unknown = sorted({d for d in directives if d not in _DIRECTIVES})
    if unknown:
        raise ValueError(
            f"date format {value!r}: %{', %'.join(unknown)} not allowed (use %d %m %b %B %Y %y %j)"
        )
    has = set(directives)
    if not ({"Y", "y"} & has) or not ({"j"} & has or ({"d"} & has and {"m", "b", "B"} & has)):
        raise ValueError(f"date format {value!r} must name a day, a month and a year (e.g. %d/%m/%Y)")
    if any(directives.count(d) > 1 for d in has):
        raise ValueError(f"date format {value!r} repeats a directive")
    return value


def signed_amount_column(contract: SourceContract) -> str | None:
    """The contract's signed money column (credit > 0, debit < 0), which debit/credit columns can build."""
    return next((c.name for c in contract.columns if c.kind == "money" and c.nonzero), None)


_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A secret's name (letters, digits and /_+=.@-) or its ARN; nothing with a space or a scheme.
_SECRET_ID = re.compile(
    r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$"
)
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
_LOOKBACK = re.compile(r"^\s*(\d+)\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


class Extraction(BaseModel):
    """Where one source's rows come from in a lender's own database (`[[extract]]`), for `etl extract`.

    The connection URL is read from the environment variable `url_env` names, or from the AWS Secrets
    Manager secret `url_secret` names (an ARN or a name; see `etl.pull.secret`): a profile holds no secret.
    Files go to `<out>/<source>/<name>/`; `columns` maps the result's column names to the contract's, as a
    layout's `columns` maps headers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    source: str
    url_env: str | None = None
    url_secret: str | None = None
    table: str | None = None
    query: str | None = None
    mode: Literal["full", "incremental"] = "full"
    cursor: str | None = None
    lookback: Annotated[int, Field(ge=0)] | str | None = None  # an integer (id cursors) or "2 hours"
    columns: dict[str, str] = Field(default_factory=dict)  # their column -> contract column
    timezone: str = "UTC"  # timestamps with a time zone are written as wall time there

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        return known_source(value)

    @field_validator("name")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"name {value!r}: lower-case letters, digits, '_' and '-' (it names a folder)")
        return value

    @field_validator("url_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and ("://" in value or not _ENV_NAME.match(value)):
            raise ValueError(
                "give the NAME of the environment variable that holds the database URL, never the URL itself"
            )
        return value

    @field_validator("url_secret")
    @classmethod
    def _secret_id(cls, value: str | None) -> str | None:
        if value is not None and ("://" in value or not _SECRET_ID.match(value)):
            raise ValueError(
                "give the ARN or the NAME of the Secrets Manager secret that holds the database URL, "
                "never the URL itself"
            )
        return value

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str | None) -> str | None:
        if value is not None and not _TABLE.match(value):
            raise ValueError(f"table {value!r}: a name like loans or core.loans (anything else: use query)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Africa/Lagos)") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Extraction:
        contract = CONTRACTS[self.source]  # type: ignore[index]
        if (self.url_env is None) == (self.url_secret is None):
            raise ValueError("give exactly one of url_env and url_secret (where the database URL is kept)")
        if (self.table is None) == (self.query is None or not self.query.strip()):
            raise ValueError("give exactly one of table and query")
        if self.mode == "incremental" and not self.cursor:
            raise ValueError(
                "mode incremental needs a cursor column (such as updated_at or an increasing id)"
            )
        if self.mode == "full" and (self.cursor or self.lookback is not None):
            raise ValueError("cursor and lookback belong to mode incremental; mode full reads every row")
        if isinstance(self.lookback, str) and not _LOOKBACK.match(self.lookback):
            raise ValueError(
                f"lookback {self.lookback!r}: an integer (id cursors) or '<n> seconds|minutes|hours|days'"
            )
        targets: dict[str, str] = {}
        for theirs, ours in self.columns.items():
            if ours not in contract.names:
                raise ValueError(
                    f"columns.{theirs!r}: {self.source} has no column {ours!r} "
                    f"(its columns: {', '.join(contract.names)})"
                )
            if ours in targets:
                raise ValueError(f"columns: {targets[ours]!r} and {theirs!r} both map to {ours}")
            targets[ours] = theirs
        return self

    @property
    def url_origin(self) -> str:
        """Where the URL is kept, for messages: `$NAME` or `secret ID`."""
        return f"${self.url_env}" if self.url_env else f"secret {self.url_secret}"

    @property
    def folder(self) -> str:
        """`<source>/<name>`: the folder its files go to under the output folder, and their logical prefix."""
        return f"{self.source}/{self.name}"

    def lookback_seconds(self) -> int | None:
        """A time look-back in seconds; None when none is given or it is a count (an id cursor's)."""
        if not isinstance(self.lookback, str):
            return None
        match = _LOOKBACK.match(self.lookback)
        assert match is not None  # checked by the validator
        return int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]

    def layout(self) -> Layout:
        """The layout its files are read with: the contract's own format (extraction writes ISO dates and
        plain numbers) and, for increments, conflict policy "update": a row changed in the source arrives in
        a later increment, which is another logical file, and must update the row, not conflict with it."""
        policy: ConflictPolicy | None = "update" if self.mode == "incremental" else None
        return Layout(source=self.source, folder=self.name, conflict_policy=policy)


@dataclass(frozen=True)
class Profile:
    """A loaded profile: its layouts, its extractions, and where it came from (for messages)."""

    origin: str
    layouts: tuple[Layout, ...] = ()
    extract: tuple[Extraction, ...] = field(default_factory=tuple)

    def layout_for(self, source: SourceName, logical: str | None) -> Layout | None:
        """The most specific layout for a file of `source` known as `logical` (`<source>/<path>`)."""
        under = PurePosixPath(logical).parts[1:-1] if logical else ()
        best: Layout | None = None
        for layout in self.layouts:
            if layout.source != source:
                continue
            folder = layout.folder.split("/") if layout.folder else []
            if list(under[: len(folder)]) != folder:
                continue
            if best is None or len(folder) > len(best.folder.split("/") if best.folder else []):
                best = layout
        return best


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layout: list[Layout] = Field(default_factory=list)
    extract: list[Extraction] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_layout_per_folder(self) -> _File:
        seen: dict[tuple[str, str | None], int] = {}
        for i, layout in enumerate(self.layout):
            where = (layout.source, layout.folder)
            if where in seen:
                raise ValueError(
                    f"layout[{seen[where]}] and layout[{i}] are both for {layout.source}"
                    + (f" in folder {layout.folder!r}" if layout.folder else "")
                )
            seen[where] = i
        names: dict[str, int] = {}
        for i, entry in enumerate(self.extract):
            if entry.name in names:
                raise ValueError(
                    f"extract[{names[entry.name]}] and extract[{i}] are both named {entry.name!r}"
                )
            names[entry.name] = i
            if (entry.source, entry.name) in seen:
                raise ValueError(
                    f"extract[{i}] writes to {entry.folder}/, which layout[{seen[(entry.source, entry.name)]}] "
                    "also describes: give the extraction another name"
                )
        return self


def parse_profile(text: str, origin: str) -> Profile:
    """A profile from its TOML text; ProfileError naming `origin`, the key and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {origin}: not valid TOML: {exc}") from None
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"profile {origin}: {_first_problem(exc)}") from None
    extracted = tuple(entry.layout() for entry in parsed.extract)
    return Profile(origin, (*parsed.layout, *extracted), tuple(parsed.extract))


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ""
    for part in error["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where}: {message}" if where else message


def load_profile(location: str | None, *, read_s3: Any = None) -> Profile | None:
    """The profile at a local path or `s3://bucket/key` (read with `read_s3(uri) -> bytes`), or None."""
    if not location:
        return None
    if location.startswith("s3://"):
        if read_s3 is None:
            raise ProfileError(f"profile {location}: no S3 client to read it with")
        try:
            text = read_s3(location).decode("utf-8")
        except UnicodeDecodeError:
            raise ProfileError(f"profile {location}: not UTF-8 text") from None
        return parse_profile(text, location)
    from pathlib import Path

    path = Path(location)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"profile {location}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(
            f"profile {location}: cannot read it: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    return parse_profile(text, location)


__all__ = [
    "CONFLICT_POLICIES",
    "Extraction",
    "Layout",
    "NarrationRule",
    "Profile",
    "ProfileError",
    "check_date_format",
    "load_profile",
    "parse_profile",
    "signed_amount_column",
]
