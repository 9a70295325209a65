"""The post-deploy self-check against moto: real (mocked) S3 uploads, a scripted Redshift Data API
(tests/tools/smoke_api.py): a healthy deploy, and what each kind of broken one shows."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest

from etl.model import schema
from etl.model.marts import MARTS
from etl.tools import smoke as smoke_module
from etl.tools.smoke import Target
from etl.tools.smoke_files import SMOKE_CUSTOMER_ID
from tests.tools.smoke_api import (
    BUCKET,
    DATABASE,
    FILES,
    SECRET_ARN,
    TEST_RESULTS,
    WORKGROUP,
    Answer,
    Script,
    data_test_answer,
    executed,
    healthy,
    ledger_answer,
    loaded_rows,
    script,
    smoke,
)

# ---- a healthy deploy -----------------------------------------------------------------------------------------


def test_a_healthy_pipeline_passes_every_check(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_table = Answer(error='ERROR: relation "etl_file_ledger" does not exist')
    script(
        monkeypatch,
        healthy({"loan_applications": [no_table, Answer(), ledger_answer("failed"), ledger_answer()]}),
    )
    sent: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.redshift-data.ExecuteStatement", lambda params, **_: sent.append(dict(params))
    )
    puts: list[str] = []
    session.events.register(
        "provide-client-params.s3.PutObject", lambda params, **_: puts.append(params["Key"])
    )

    verdict = smoke(session)

    assert verdict.ok, verdict.lines()
    s3 = session.client("s3")
    for file, uri in zip(FILES, verdict.uris, strict=True):
        key = uri.removeprefix(f"s3://{BUCKET}/")
        assert key.startswith(f"incoming/{file.contract.name}/smoke-{file.file_id[:12]}-") and key.endswith(
            ".csv"
        )
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == file.body
    lines = verdict.lines()
    assert lines[:4] == ["etl smoke: 3 file(s) uploaded", *(f"  {uri}" for uri in verdict.uris)]
    assert lines[4].startswith("  ok    ledger  3 files loaded after ") and lines[4].endswith(
        ": 9 rows in, 6 loaded, 3 quarantined"
    )
    # the facts' columns and, read through the dimensions, 1 + 3 + 1 (customer_id; category, transaction_date):
    # the same 116 values the check compared when the facts still carried those columns
    cells = 2 * (sum(len(schema.TABLES[f.contract.fact_table].columns) for f in FILES) + 5)
    assert cells == 116
    assert lines[5] == (
        f"  ok    values  6 rows, {cells} values in 3 fact tables as sent (128-byte ids, cents, dates, NULLs, keys, "
        "categories; loaded_at within each load)"
    )
    assert lines[6:] == [
        "  ok    tests   the data tests ran after the loads (1 run(s)): 1 passed, 1 warned, 0 failed",
        f"  ok    marts   all {len(MARTS)} mart_* views answered",
        "verdict: OK",
    ]
    # the applications' ledger is polled until loaded (no table yet, no row, failed, loaded) before the
    # other files are uploaded: the repayments' customers come from their applications
    sqls = [s["Sql"] for s in sent]
    ledger_sql = smoke_module.LEDGER_QUERY.format(schema="public")
    assert sqls[:4] == [ledger_sql] * 4 and puts == [uri.split("/", 3)[3] for uri in verdict.uris]
    assert [s["Parameters"][0]["value"] for s in sent[:6]] == [FILES[0].file_id] * 4 + [
        f.file_id for f in FILES[1:]
    ]
    fact_sqls = [sql for sql in sqls if "fact_" in sql]
    assert [sql.split(" FROM ")[1].split()[0] for sql in fact_sqls] == [
        f"public.{f.contract.fact_table}" for f in FILES
    ]
    assert sqls[-len(MARTS) :] == [f"SELECT * FROM public.{m.name} LIMIT 1" for m in MARTS]
    assert all(
        s["WorkgroupName"] == WORKGROUP and s["Database"] == DATABASE and s["SecretArn"] == SECRET_ARN
        for s in sent
    )
    for statement in executed():  # bound, never formatted into the SQL
        assert not any(f.file_id in statement.query_string for f in FILES)


def test_without_a_secret_the_data_api_uses_the_callers_identity_and_another_schema_is_named(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, healthy())
    sent: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.redshift-data.ExecuteStatement", lambda params, **_: sent.append(dict(params))
    )

    assert smoke(session, Target(BUCKET, WORKGROUP, DATABASE, None, "risk")).ok

    assert not any("SecretArn" in s for s in sent)
    assert all(" risk." in s["Sql"] and " public." not in s["Sql"] for s in sent)


# ---- what a broken deploy shows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "changes", "detail"),
    [
        # COPY misreading the Parquet timestamp (apache/arrow#38000 saw a 2023 value as year 161065)
        (
            "fact_loan_application",
            {"loaded_at": "161065-10-07 20:24:18.134352"},
            "fact_loan_application row 1 loaded_at: read 161065-10-07 20:24:18.134352, outside the load",
        ),
        (
            "fact_repayment",
            {"loaded_at": datetime(2262, 4, 11, 23, 47, 16)},
            "fact_repayment row 1 loaded_at: read 2262-04-11 23:47:16, outside the load",
        ),
        (
            "fact_loan_application",
            {"loan_amount": Decimal("1234567.90")},
            "fact_loan_application row 1 loan_amount: sent Decimal('1234567.89'), read Decimal('1234567.90')",
        ),
        (
            "fact_bank_transaction",
            {"channel": "Mobile"},
            "fact_bank_transaction row 1 channel: sent 'mobile', read 'Mobile'",
        ),
        (
            "fact_repayment",
            {"customer_key": -1},
            "fact_repayment row 1 customer_key: sent 322292969060255584, read -1",
        ),
    ],
)
def test_a_value_that_did_not_round_trip_fails_the_values_check(
    session: boto3.session.Session,
    monkeypatch: pytest.MonkeyPatch,
    table: str,
    changes: dict[str, Any],
    detail: str,
) -> None:
    file = next(f for f in FILES if f.contract.fact_table == table)
    rows = loaded_rows(file)
    rows[0] = {**rows[0], **changes}
    script(monkeypatch, healthy(tables={table: rows}))

    verdict = smoke(session)

    [_, values, _, _] = verdict.checks
    assert values.ok is False and values.detail.startswith(detail), values.detail
    assert verdict.lines()[-1] == "verdict: FAILED (1 of 4 checks)"


def test_a_cut_multibyte_id_is_shown(session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    cut = loaded_rows(FILES[0], customer_id=SMOKE_CUSTOMER_ID[:-2])
    script(monkeypatch, healthy(tables={"fact_loan_application": cut}))
    [_, values, _, _] = smoke(session).checks
    sent, read = "'SMOKE-CUSTOM'...'ßßßßßx' (128 bytes)", "'SMOKE-CUSTOM'...'ßßßßßß' (125 bytes)"
    assert values.detail == (
        f"fact_loan_application row 1 customer_id: sent {sent}, read {read}; "
        f"fact_loan_application row 2 customer_id: sent {sent}, read {read}"
    )


def test_a_missing_row_is_counted(session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    script(monkeypatch, healthy(tables={"fact_bank_transaction": loaded_rows(FILES[1])[:1]}))
    [_, values, _, _] = smoke(session).checks
    assert values.detail == "fact_bank_transaction: 1 rows of the file, expected 2"


@pytest.mark.parametrize(
    ("source", "ledger", "detail", "uploaded"),
    [
        (
            "loan_applications",
            ledger_answer("rejected", (0, 0, 0), "missing required column: annual_income"),
            "loan_applications: rejected: missing required column: annual_income",
            1,  # the others are not sent: their repayments would have no application
        ),
        (
            "repayments",
            ledger_answer("loaded", (3, 3, 0)),
            "repayments: loaded, but 3 rows in, 3 loaded, 0 quarantined (expected 3, 2, 1)",
            3,
        ),
        (
            "bank_statements",
            Answer(error="ERROR: permission denied for relation etl_file_ledger"),
            "bank_statements: the ledger query failed: etl-smoke-ledger failed: ERROR: permission denied for relation "
            "etl_file_ledger",
            3,
        ),
    ],
)
def test_a_file_that_did_not_load_as_sent_fails_the_ledger_and_skips_the_values(
    session: boto3.session.Session,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    ledger: Answer,
    detail: str,
    uploaded: int,
) -> None:
    script(monkeypatch, healthy({source: [ledger]}))

    verdict = smoke(session)

    assert len(verdict.uris) == uploaded
    assert [(c.name, c.ok) for c in verdict.checks] == [
        ("ledger", False),
        ("values", None),
        ("tests", None),
        ("marts", True),
    ]
    assert verdict.checks[0].detail == detail
    assert verdict.lines()[-4:-2] == [
        "  skip  values  not read: a file did not load",
        "  skip  tests   not read: a file did not load",
    ]
    assert verdict.lines()[-1] == "verdict: FAILED (3 of 4 checks)"


@pytest.mark.parametrize(
    "answer", [None, healthy({"loan_applications": [Answer()]})], ids=["never-finishes", "no-row"]
)
def test_no_loaded_row_by_the_deadline_fails_the_ledger(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch, answer: Script | None
) -> None:
    script(monkeypatch, answer)
    verdict = smoke(session, timeout_seconds=0.2, check_seconds=0.1)
    assert verdict.checks[0].ok is False
    # the seconds are the waited time, rounded: 0 or 1 for a 0.2 s deadline, depending on the machine's load
    assert re.match(
        r"loan_applications: no loaded row after [01] s \(last seen: no ledger row\)",
        verdict.checks[0].detail,
    )


@pytest.mark.parametrize(
    ("answers", "ok", "detail"),
    [
        (
            [data_test_answer([]), data_test_answer(TEST_RESULTS)],
            True,
            "the data tests ran after the loads (1 run(s)): 1 passed, 1 warned, 0 failed",
        ),
        (
            [data_test_answer([("unique_fact_repayment", "error", "fail"), *TEST_RESULTS])],
            False,
            "1 passed, 1 warned, 1 failed: unique_fact_repayment",
        ),
        (
            [data_test_answer([])],
            False,
            "no data-test results for run run-a: see its run summary (run error)",
        ),
    ],
)
def test_the_data_tests_of_the_loads_runs_are_read(
    session: boto3.session.Session,
    monkeypatch: pytest.MonkeyPatch,
    answers: list[Answer],
    ok: bool,
    detail: str,
) -> None:
    # a run writes its data-test results after its files' ledger rows: polled for until check_seconds
    script(monkeypatch, healthy(tests={"run-a": answers}))
    [_, _, tests, _] = smoke(session, check_seconds=0.3).checks
    assert (tests.ok, tests.detail) == (ok, detail)


def test_a_mart_that_fails_is_named(session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {MARTS[2].name: "ERROR: function now() is a leader-node-only function"}
    script(monkeypatch, healthy(marts=broken))

    [_, _, _, marts] = smoke(session).checks

    assert marts.ok is False
    assert marts.detail == (
        f"{len(MARTS) - 1} of {len(MARTS)} answered; {MARTS[2].name}: failed: "
        "ERROR: function now() is a leader-node-only function"
    )
