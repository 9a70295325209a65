"""`etl quarantine list|replay` against a real lake and warehouse, with the exact warehouse state asserted."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from etl import contracts
from etl.cli.quarantine import quarantine_app
from etl.quarantine import escape_formula
from tests.helpers import Env, make_env, write
from tests.load.warehouse.pg import make_pg_env

HEADER = "application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income,loan_term_months"
APPS = "\n".join(
    [
        HEADER,
        "A1,C1,100.10,2023-01-01,700,Employed,1000.00,12",
        "A2,C2,200.20,2023-01-02,650,Unemployed,0,720",  # line 3: out_of_range (term > 600 months)
        "A3,C3,300.30,2023-01-03,640,Retired,500.00,24",  # line 4: invalid_enum
        "A4,C4,400.40,2023-01-04",  # line 5: malformed_row
        "A5,C5,1.00,2023-01-05,700,Employed,10.00,6",  # line 6: duplicate_key (line 7 is loaded)
        "A5,C5,5.00,2023-01-05,710,Employed,10.00,6",
        "A6,C6,600.60,2023-01-06,720,Self-Employed,6000.00,800",  # line 8: out_of_range
    ]
)


def _whatever_they_quarantine(env: Env) -> Env:
    """These tests are about the quarantine itself: files load however much of them is quarantined."""
    env.settings = env.settings.model_copy(update={"max_quarantine_rate": 1.0})
    return env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return _whatever_they_quarantine(make_env(tmp_path))


@pytest.fixture(params=["duckdb", "postgres"])
def qenv(request: pytest.FixtureRequest, tmp_path: Path) -> Env:
    if request.param == "postgres":
        env: Env = _whatever_they_quarantine(
            make_pg_env(tmp_path, str(request.getfixturevalue("postgres_url")))
        )
    else:
        env = request.getfixturevalue("env")
    write(env.data, "loan_applications", "apps.csv", APPS + "\n")
    [result] = env.run().files
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == ("loaded", 7, 2, 5)
    return env


def _cli(env: Env, *args: str) -> Any:
    app = typer.Typer()  # the team lead registers quarantine_app on etl.cli.app the same way
    app.add_typer(quarantine_app, name="quarantine")
    runner = CliRunner()
    return runner.invoke(
        app, ["quarantine", *args, "--lake", env.settings.lake, "--warehouse", env.settings.warehouse_url]
    )


def _json(result: Any) -> Any:
    assert result.exit_code in {0, 1, 3}, result.output
    return json.loads(result.stdout)


def _facts(env: Env) -> list[tuple[Any, ...]]:
    return env.query(
        "SELECT application_id, loan_amount, employment_status, loan_term_months FROM fact_loan_application ORDER BY 1"
    )


ORIGINAL_FACTS = [
    ("A1", Decimal("100.10"), "Employed", 12),
    ("A5", Decimal("5.00"), "Employed", 6),
]


def test_list_counts_rows_by_file_and_rule_and_prints_them(qenv: Env) -> None:
    result = _cli(qenv, "list", "--json", "--rows")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    file_id = answer["groups"][0]["file_id"]
    uri = str(qenv.data / "loan_applications" / "apps.csv")
    assert answer["groups"] == [
        {"source": "loan_applications", "file_id": file_id, "source_uri": uri, "rule": r}
        | {"quarantine_state": state, "rows": n}
        for r, state, n in [
            ("duplicate_key", "resolved", 1),  # its key was loaded: from the later line of the same file
            ("invalid_enum", "open", 1),
            ("malformed_row", "open", 1),
            ("out_of_range", "open", 2),
        ]
    ]
    assert answer["total"] == 5
    assert [(r["source_row"], r["rule"], r["application_id"]) for r in answer["rows"]] == [
        (3, "out_of_range", "A2"),
        (4, "invalid_enum", "A3"),
        (5, "malformed_row", None),
        (6, "duplicate_key", "A5"),
        (8, "out_of_range", "A6"),
    ]
    only = _json(_cli(qenv, "list", "--json", "--rule", "invalid_enum", "--file-id", file_id[:10]))
    assert only["total"] == 1
    text = _cli(qenv, "list", "--source", "loan_application")  # the folder alias works
    assert text.exit_code == 0 and "total: 5 rows" in text.stdout


def test_replay_of_rows_still_invalid_requarantines_them_loads_nothing_and_is_idempotent(qenv: Env) -> None:
    first = _json(_cli(qenv, "replay", "--json", "--source", "loan_applications"))
    [plan] = first["plans"]
    assert plan["rows"] == 3  # A2, A3, A6; the malformed and the duplicate row are not replayable
    assert sorted(plan["skipped"].values()) == [1, 1]
    assert any(k.startswith("malformed_row") for k in plan["skipped"])
    assert any(k.startswith("duplicate_key") for k in plan["skipped"])
    [run] = first["run"]["files"]
    assert (run["status"], run["rows_in"], run["rows_loaded"], run["rows_quarantined"]) == ("loaded", 3, 0, 3)
    assert _facts(qenv) == ORIGINAL_FACTS

    # the replay file's rows are quarantined under its own id (tried again); the original quarantine is
    # untouched and still open
    groups = _json(_cli(qenv, "list", "--json"))["groups"]
    assert sorted(
        (Path(g["source_uri"]).parent.name, g["rule"], g["quarantine_state"], g["rows"]) for g in groups
    ) == [
        ("loan_applications", "duplicate_key", "resolved", 1),
        ("loan_applications", "invalid_enum", "open", 1),
        ("loan_applications", "invalid_enum", "retried", 1),
        ("loan_applications", "malformed_row", "open", 1),
        ("loan_applications", "out_of_range", "open", 2),
        ("loan_applications", "out_of_range", "retried", 2),
    ]
    replay_uri = run["path"]
    assert Path(replay_uri).parent == Path(qenv.settings.lake) / "replays" / "loan_applications"
    assert Path(replay_uri).name == f"{run['file_id']}.csv"

    second = _json(_cli(qenv, "replay", "--json"))
    [again] = second["run"]["files"]
    assert (again["status"], again["file_id"]) == ("skipped_duplicate", run["file_id"])
    assert (
        second["plans"][0]["skipped"][
            "quarantined again by a replay: its original file's row is the one replayed"
        ]
        == 3
    )
    assert _facts(qenv) == ORIGINAL_FACTS
    assert qenv.query(
        "SELECT file_name, status, rows_loaded, rows_quarantined FROM etl_file_ledger ORDER BY 1"
    ) == [
        ("apps.csv", "loaded", 2, 5),
        (f"quarantine-replay-loan_applications-{run['file_id'][:12]}.csv", "loaded", 0, 3),
    ]


def test_replay_after_the_contract_was_widened_loads_the_rows_it_now_accepts_with_exact_values(
    qenv: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _json(_cli(qenv, "replay", "--json"))  # nothing passes yet
    assert before["run"]["files"][0]["rows_loaded"] == 0

    # the product now sells 60-year loans: the contract's term limit moves from 600 to 720 months
    apps = contracts.CONTRACTS["loan_applications"]
    columns = tuple(
        dataclasses.replace(c, maximum=Decimal(720)) if c.name == "loan_term_months" else c
        for c in apps.columns
    )
    monkeypatch.setitem(contracts.CONTRACTS, "loan_applications", dataclasses.replace(apps, columns=columns))

    after = _json(_cli(qenv, "replay", "--json", "--source", "loan_applications"))
    [run] = after["run"]["files"]
    assert (run["status"], run["rows_in"], run["rows_loaded"], run["rows_quarantined"]) == ("loaded", 3, 1, 2)
    assert after["run"]["exit_code"] == 0
    assert _facts(qenv) == sorted([*ORIGINAL_FACTS, ("A2", Decimal("200.20"), "Unemployed", 720)])
    # lineage: the replayed row points at the replay file, whose CSV points at the original line
    [(file_id, line)] = qenv.query(
        "SELECT source_file_id, source_row FROM fact_loan_application WHERE application_id = 'A2'"
    )
    assert file_id == run["file_id"]
    with Path(run["path"]).open(newline="") as handle:
        rebuilt = list(csv.DictReader(handle))
    original = rebuilt[line - 2]
    assert (original["application_id"], original["original_line"]) == ("A2", "3")
    assert qenv.query("SELECT customer_id, employment_status FROM dim_customer WHERE customer_id = 'C2'") == [
        ("C2", "Unemployed")
    ]

    # replaying the same quarantine again is a no-op: the same content, skipped
    again = _json(_cli(qenv, "replay", "--json", "--source", "loan_applications"))
    assert [f["status"] for f in again["run"]["files"]] == ["skipped_duplicate"]
    assert qenv.query("SELECT COUNT(*), COUNT(DISTINCT application_id) FROM fact_loan_application") == [
        (3, 3)
    ]


def test_a_row_loaded_since_by_a_corrected_file_is_not_replayed_over_it(qenv: Env) -> None:
    write(
        qenv.data,
        "loan_applications",
        "fix.csv",
        HEADER + "\nA3,C3,333.33,2023-01-03,640,Employed,500.00,24\n",
    )
    [_, fixed] = qenv.run().files
    assert (fixed.status, fixed.rows_loaded) == ("loaded", 1)
    answer = _json(_cli(qenv, "replay", "--json"))
    plan, statements, repayments = answer["plans"]
    assert (statements["rows"], repayments["rows"]) == (0, 0)
    assert plan["rows"] == 2  # A2 and A6; A3 has a newer version in the warehouse
    assert (
        plan["skipped"]["application_id loaded since by a later file: the warehouse has a newer version"] == 1
    )
    assert qenv.query(
        "SELECT loan_amount, employment_status FROM fact_loan_application WHERE application_id = 'A3'"
    ) == [(Decimal("333.33"), "Employed")]


def test_csv_export_escapes_spreadsheet_formulas(env: Env, tmp_path: Path) -> None:
    payloads = ['=HYPERLINK("http://evil.example","x")', "+1+1", "@SUM(A1)", "-2+3", "\tTAB", "plain"]
    lines = [f'T{i},"{p.replace(chr(34), chr(34) * 2)}",2023-01-01,0,N,1.00' for i, p in enumerate(payloads)]
    write(
        env.data,
        "bank_statements",
        "s.csv",
        "transaction_id,customer_id,transaction_date,transaction_amount,"
        "narration,balance\n" + "\n".join(lines) + "\n",
    )
    [result] = env.run().files
    assert result.rows_quarantined == len(payloads)  # a zero amount breaks the contract
    out = tmp_path / "q.csv"
    answer = _cli(env, "list", "--source", "bank_statements", "--csv", str(out))
    assert answer.exit_code == 0, answer.output
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["customer_id"] for r in rows] == [escape_formula(p) for p in payloads]
    assert [r["customer_id"] for r in rows][:5] == [f"'{p}" for p in payloads[:5]]
    assert rows[5]["customer_id"] == "plain"
    assert {r["transaction_amount"] for r in rows} == {"0"}
    assert all(
        not v.startswith(("=", "+", "-", "@", "\t")) or re.fullmatch(r"[+-]?\d+(\.\d+)?", v)
        for r in rows
        for v in r.values()
    )
    assert escape_formula("-5.00") == "-5.00" and escape_formula("-5.00+A1") == "'-5.00+A1"


def test_an_s3_lake_is_refused_with_one_line(env: Env) -> None:
    app = typer.Typer()
    app.add_typer(quarantine_app, name="quarantine")
    result = CliRunner().invoke(app, ["quarantine", "list", "--lake", "s3://bucket/lake"])
    assert result.exit_code == 2
    assert "not supported yet" in result.output and "Traceback" not in result.output


def test_rows_with_a_nul_byte_are_not_replayed(env: Env) -> None:
    filler = "".join(
        f"A{i},C{i},100.00,2023-01-01,700,Employed,1000.00,12\n" for i in range(2000)
    )  # > 64 KiB
    write(
        env.data,
        "loan_applications",
        "apps.csv",
        HEADER + "\n" + filler + "AX,C\x00X,1.00,2023-01-05,700,Employed,10.00,6\n",
    )
    [result] = env.run().files
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 2000, 1)

    [plan] = _json(_cli(env, "replay", "--json", "--source", "loan_applications"))["plans"]
    assert plan["rows"] == 0
    assert list(plan["skipped"].values()) == [1]
    assert next(iter(plan["skipped"])).startswith("invalid_text")


def test_the_same_replay_twice_says_nothing_changed(env: Env) -> None:
    write(env.data, "loan_applications", "apps.csv", APPS + "\n")
    env.run()
    assert "quarantined again" in _cli(env, "replay").stdout
    again = _cli(env, "replay")
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == "loan_applications: 3 rows to replay"
    assert again.stdout.splitlines()[-1].endswith(
        ".csv: skipped_duplicate, the same rows were replayed before: nothing changed"
    )


def test_an_unknown_rule_is_a_one_line_error_not_an_empty_answer(env: Env) -> None:
    write(env.data, "loan_applications", "apps.csv", APPS + "\n")
    env.run()
    for command in ("list", "replay"):
        result = _cli(env, command, "--rule", "invalid_enums")
        assert result.exit_code == 2, result.output
        assert (
            result.output.strip()
            .splitlines()[0]
            .startswith("error: unknown rule 'invalid_enums': use one of required,")
        )


def test_the_rules_are_the_ones_the_code_writes_and_the_readme_lists() -> None:
    from etl.normalize.validate import RULES

    root = Path(__file__).resolve().parents[2]
    code = "".join(
        (root / "etl" / f).read_text()
        for f in ("normalize/validate.py", "normalize/rejects.py", "normalize/duplicates.py", "contracts.py")
    )
    code = re.sub(r"RULES: tuple\[str, \.\.\.\] = \(.*?\n\)", "", code, flags=re.S)  # not the list itself
    written = set(re.findall(r'"([a-z]+_[a-z_]+|required)"', code)) & set(RULES)
    assert written == set(RULES)  # every rule is one the code writes
    readme = (root / "README.md").read_text()
    listed = re.search(r"original text of every column\. Rules:\n(.*?)Lines with no values", readme, re.S)
    assert listed is not None
    assert re.findall(r"`([a-z_]+)`", listed.group(1)) == list(RULES)


def test_replay_into_a_warehouse_that_was_never_loaded_is_refused(env: Env, tmp_path: Path) -> None:
    write(env.data, "loan_applications", "apps.csv", APPS + "\n")
    env.run()
    app = typer.Typer()
    app.add_typer(quarantine_app, name="quarantine")
    typo = f"duckdb:///{tmp_path / 'nowhere.duckdb'}"
    result = CliRunner().invoke(
        app, ["quarantine", "replay", "--lake", env.settings.lake, "--warehouse", typo]
    )
    assert result.exit_code == 2, result.output
    assert "no warehouse at" in result.output
    assert not (tmp_path / "nowhere.duckdb").exists()


def test_list_tells_open_rows_from_resolved_ones_and_filters_by_state(qenv: Env) -> None:
    write(
        qenv.data,
        "loan_applications",
        "fix.csv",
        HEADER + "\nA3,C3,333.33,2023-01-03,640,Employed,500.00,24\n",
    )
    qenv.run()  # a later file loads A3: its quarantined row is resolved
    states = {
        (r["application_id"], r["quarantine_state"])
        for r in _json(_cli(qenv, "list", "--json", "--rows"))["rows"]
    }
    assert states == {("A2", "open"), ("A3", "resolved"), (None, "open"), ("A5", "resolved"), ("A6", "open")}
    open_rows = _json(_cli(qenv, "list", "--json", "--state", "open"))
    assert open_rows["total"] == 3
    unknown = _cli(qenv, "list", "--state", "forgotten")
    assert (unknown.exit_code, unknown.stderr.strip()) == (
        2,
        "error: unknown state 'forgotten': use one of open, resolved, superseded, retried, not loaded, unknown",
    )
