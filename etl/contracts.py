"""The sources, as data in one registry: name, folder aliases, contract (columns, types, rules), cross-field
rules, fact table, natural key, how its rows relate to customers, and the load order.

Nothing outside this module and each source's own builder branches on a source name: the pipeline, the
warehouse and the tools read what they need from a source's `SourceContract`. Every SQL identifier the
product emits for a source comes from here; nothing in a CSV header ever reaches SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Kind = Literal["id", "text", "money", "rate", "int", "date", "enum"]

SourceName = Literal["loan_applications", "bank_statements", "repayments"]
# How a source's rows relate to dim_customer: applications define customers (type 1 attributes, history);
# statements name theirs (unknown ones become inferred members); repayments belong to their application's
# customer, else to the one their file names (inferred too), else to the unknown member.
CustomerRole = Literal["defines", "infers", "infers_via_application"]
# What happens to a row whose natural key another logical file already holds with other values: the later
# file updates it, the row is quarantined as `key_conflict`, or the whole file is rejected.
ConflictPolicy = Literal["update", "quarantine", "reject"]
CONFLICT_POLICIES: tuple[ConflictPolicy, ...] = ("update", "quarantine", "reject")


# Short labels that dashboards group by (state, loan purpose, channel): 128 bytes hold 42 characters of
# any script, far more than any such label; a VARCHAR(4096) group-by column costs Redshift memory and
# temporary disk in every aggregation ("use the smallest possible column size").
LABEL_BYTES = 128


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = True
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    min_exclusive: bool = False
    nonzero: bool = False
    # enum: canonical value by normalised spelling (lower case, no spaces, dashes or underscores)
    allowed: dict[str, str] = field(default_factory=dict)
    description: str = ""
    masked: bool = False  # hidden (letters x, digits 9) everywhere it is stored when masking is on
    # text: the longest value in UTF-8 bytes (None: the validator's general limit); its warehouse column is
    # exactly that wide (Redshift counts VARCHAR in bytes), so a longer value is a quarantined row, not a
    # failed COPY
    max_bytes: int | None = None

    def range_text(self) -> str:
        if self.nonzero:
            return "non-zero"
        low = f"> {self.minimum}" if self.min_exclusive else f">= {self.minimum}"
        if self.minimum is not None and self.maximum is not None and not self.min_exclusive:
            return f"{self.minimum}-{self.maximum}"
        if self.maximum is not None:
            return f"<= {self.maximum}"
        return low


@dataclass(frozen=True)
class NotBefore:
    """Cross-field rule `date_order`: `column` may not be earlier than `reference` (both dates)."""

    column: str
    reference: str
    rule: str = "date_order"


@dataclass(frozen=True)
class SourceContract:
    name: SourceName
    key: str
    fact_table: str
    columns: tuple[Column, ...]
    aliases: tuple[str, ...] = ()  # other folder names for the source (the original challenge's layout)
    checks: tuple[NotBefore, ...] = ()  # cross-field rules, after each column's own
    customers: CustomerRole = "infers"
    conflict_policy: ConflictPolicy = "update"

    @property
    def folders(self) -> tuple[str, ...]:
        """Every folder name that means this source."""
        return (self.name, *self.aliases)

    @property
    def date_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "date")

    @property
    def masked_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.masked)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


def _enum(*values: str) -> dict[str, str]:
    return {normalise_enum(v): v for v in values}


def normalise_enum(value: str) -> str:
    return re.sub(r"[\s_\-]+", "", value).lower()


# Display order of the dimension; `other` is the fallback and always last.
CATEGORIES: tuple[str, ...] = (
    "salary",
    "transfer",
    "pos",
    "fuel",
    "utilities",
    "airtime",
    "atm",
    "betting",
    "loan_repayment",
    "rent",
    "other",
)

FRAUD_SCORE_MAX = Decimal(100)

EMPLOYMENT_STATUSES = ("Employed", "Self-Employed", "Unemployed")
APPLICATION_STATUSES = ("approved", "rejected", "pending")
CHANNELS = ("mobile", "ussd", "pos", "atm", "web", "branch", "other")

LOAN_APPLICATIONS = SourceContract(
    name="loan_applications",
    key="application_id",
    fact_table="fact_loan_application",
    aliases=("loan_application",),
    customers="defines",
    # An application's status and decision legitimately change in a later export: the later file wins.
    conflict_policy="update",
    checks=(NotBefore("decision_date", "loan_application_date"),),
    columns=(
        Column("application_id", "id", description="Natural key of the application"),
        Column("customer_id", "id", description="Natural key of the customer"),
        Column(
            "loan_amount", "money", minimum=Decimal(0), min_exclusive=True, description="Amount requested"
        ),
        Column("loan_application_date", "date", description="Date the application was made"),
        Column("credit_score", "int", minimum=Decimal(300), maximum=Decimal(850), description="Bureau score"),
        Column(
            "employment_status", "enum", allowed=_enum(*EMPLOYMENT_STATUSES), description="Employment status"
        ),
        Column("annual_income", "money", minimum=Decimal(0), description="Declared annual income"),
        Column("loan_term_months", "int", required=False, minimum=Decimal(1), maximum=Decimal(600)),
        Column(
            "interest_rate",
            "rate",
            required=False,
            minimum=Decimal(0),
            maximum=Decimal(1000),
            description="Annual interest rate in percent",
        ),
        Column("loan_purpose", "text", required=False, max_bytes=LABEL_BYTES),
        Column("state", "text", required=False, description="State of residence", max_bytes=LABEL_BYTES),
        Column("application_status", "enum", required=False, allowed=_enum(*APPLICATION_STATUSES)),
        Column("decision_date", "date", required=False),
        # A fraud (risk) score from the lender's fraud screening, on the 0-100 scale most vendors use
        # (MaxMind's risk score 0.01-99, Sift's score 0-100, Stripe Radar's 0-99): higher is riskier. A score
        # on another scale (0-1, 0-1000) must be converted before loading: above 100 it is quarantined.
        Column(
            "fraud_score",
            "rate",
            required=False,
            minimum=Decimal(0),
            maximum=FRAUD_SCORE_MAX,
            description="Fraud screening score, 0-100 (higher is riskier), up to 4 decimals",
        ),
    ),
)

BANK_STATEMENTS = SourceContract(
    name="bank_statements",
    key="transaction_id",
    fact_table="fact_bank_transaction",
    aliases=("customer_bank_statement", "customer_bank_statements", "bank_statement"),
    customers="infers",
    # Two statements that share transaction ids with other values are two exports numbering their rows
    # alike, not a correction: the later rows are quarantined, the earlier ones stay.
    conflict_policy="quarantine",
    columns=(
        Column("transaction_id", "id"),
        Column("customer_id", "id"),
        Column("transaction_date", "date"),
        Column("transaction_amount", "money", nonzero=True, description="Credit > 0, debit < 0"),
        Column("narration", "text", description="Free text from the bank", masked=True),
        Column("balance", "money", description="Balance after the transaction (may be negative)"),
        Column("channel", "text", required=False, max_bytes=LABEL_BYTES),
        Column(
            "merchant",
            "text",
            required=False,
            description="Merchant of a card or web payment, as the bank names it",
            max_bytes=LABEL_BYTES,
        ),
    ),
)

REPAYMENTS = SourceContract(
    name="repayments",
    key="repayment_id",
    fact_table="fact_repayment",
    aliases=("repayment", "loan_repayments"),
    customers="infers_via_application",
    # A later schedule export records what was paid since: the later file wins.
    conflict_policy="update",
    columns=(
        Column("repayment_id", "id"),
        Column("application_id", "id"),
        Column("due_date", "date"),
        Column("amount_due", "money", minimum=Decimal(0), min_exclusive=True),
        Column(
            "customer_id", "id", required=False, description="Optional; otherwise taken from the application"
        ),
        Column("paid_date", "date", required=False),
        Column("amount_paid", "money", required=False, minimum=Decimal(0)),
    ),
)

# The registry, in load order: applications first, so that statements and repayments find their customers.
REGISTRY: tuple[SourceContract, ...] = (LOAN_APPLICATIONS, BANK_STATEMENTS, REPAYMENTS)
CONTRACTS: dict[SourceName, SourceContract] = {c.name: c for c in REGISTRY}
SOURCES: tuple[SourceName, ...] = tuple(c.name for c in REGISTRY)
SOURCE_ORDER: dict[str, int] = {name: i for i, name in enumerate(SOURCES)}
# Folder names accepted for each source, its own name included.
SOURCE_ALIASES: dict[str, SourceName] = {folder: c.name for c in REGISTRY for folder in c.folders}


# Columns the product adds to every row it stores (its lineage): an input column of one of these names is
# ignored with a note, never read over the product's own.
LINEAGE_COLUMNS = ("source_file_id", "source_row", "loaded_at", "attributes")
# The most bytes a row's kept columns may take as one JSON object (the facts' `attributes`): Redshift stages
# it as text in its widest VARCHAR before JSON_PARSE makes it SUPER. A longer one is quarantined.
ATTRIBUTES_MAX_BYTES = 65535


def normalise_header(name: str) -> str:
    """`Loan Amount`, ` LOAN_AMOUNT ` and `Loan_Amount` are the same column."""
    return re.sub(r"\s+", "_", name.strip().lstrip("\ufeff").strip()).lower()


def source_from_folder(folder: str) -> SourceName | None:
    return SOURCE_ALIASES.get(folder.strip().lower())


def load_order(source: str | None) -> int:
    """Position of `source` in the load order; files of no known source come last."""
    return SOURCE_ORDER.get(source or "", len(SOURCES))


def source_list(*, prefix: str = "", suffix: str = "") -> str:
    """`loan_applications, bank_statements or repayments` (each with `prefix` and `suffix`): for messages."""
    names = [f"{prefix}{name}{suffix}" for name in SOURCES]
    return ", ".join(names[:-1]) + f" or {names[-1]}"
