"""Start-up: each entry point imports what it uses when it uses it (checked in fresh interpreters).

`etl --help` loads neither pyarrow, DuckDB nor pandas; `import etl.handler` loads neither awswrangler, pandas,
pyarrow nor DuckDB (they come with the first file an invocation loads); a whole `etl run` never imports
pandas or awswrangler (pyarrow is told there is no pandas: `etl.pipeline.arrow_without_pandas`), and an
S3 lake imports awswrangler only to register a table in Glue. Timings are benchmarks, not tests
(docs/performance.md); what is held here is what gets imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import APP_HEADER, REPAY_HEADER, STMT_HEADER, write

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pyarrow", "duckdb", "pandas", "numpy", "awswrangler", "boto3", "connectorx", "pymysql")

# Runs `body` in a fresh interpreter and prints, at exit (after any sys.exit), which HEAVY modules it loaded.
PROBE = """
import atexit, json, sys
atexit.register(lambda: print("LOADED " + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules))))
{body}
"""


def loaded(body: str, cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    code = PROBE.format(heavy=HEAVY, body=body)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("LOADED ")]
    assert lines and done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(lines[-1].removeprefix("LOADED ")))


def cli(*args: str) -> str:
    return f"sys.argv = ['etl', *{list(args)!r}]\nfrom etl.entry import main\nmain()"


def test_help_imports_no_data_library(tmp_path: Path) -> None:
    assert loaded(cli("--help"), tmp_path) == set()
    assert loaded(cli("run", "--help"), tmp_path) == set()


def test_the_handler_module_imports_no_data_library(tmp_path: Path) -> None:
    # powertools and the event parsing only: boto3 and the settings come with the first invocation,
    # pyarrow and DuckDB with the first file it loads, awswrangler and pandas never (without Glue)
    assert loaded("import etl.handler", tmp_path) == set()


def test_a_run_of_an_empty_folder_opens_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    assert loaded(cli("run"), tmp_path) == set()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # nor a lake or warehouse


def test_a_whole_run_never_imports_pandas_or_awswrangler(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "loan_applications", "a.csv", f"{APP_HEADER}\nA1,C1,1000,2023-01-10,700,Employed,50000\n")
    write(data, "bank_statements", "s.csv", f"{STMT_HEADER}\nT1,C1,2023-02-01,-10.00,POS SHOP,90.00\n")
    write(data, "repayments", "r.csv", f"{REPAY_HEADER}\nR1,A1,2023-02-10,100.00,2023-02-10,100.00\n")

    modules = loaded(cli("run"), tmp_path)

    assert (tmp_path / "warehouse.duckdb").exists()
    assert {"pyarrow", "duckdb"} <= modules
    assert not modules & {"pandas", "awswrangler"}


def test_every_etl_module_imports_without_pandas(tmp_path: Path) -> None:
    # a pa.array or pa.scalar at import time would import pandas (pyarrow asks whether it is installed)
    body = (
        "import importlib, pkgutil, etl\n"
        "for m in pkgutil.walk_packages(etl.__path__, 'etl.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "        assert 'pandas' not in sys.modules, m.name\n"
    )
    assert not loaded(body, tmp_path) & {"pandas", "awswrangler"}


def test_pandas_still_converts_after_pyarrow_was_told_it_is_absent(tmp_path: Path) -> None:
    body = (
        "import pyarrow as pa\n"
        "from etl.pipeline import arrow_without_pandas\n"
        "arrow_without_pandas()\n"
        "assert pa.array([1, None]).to_pylist() == [1, None] and 'pandas' not in sys.modules\n"
        "frame = pa.table({'a': [1, 2]}).to_pandas()\n"
        "assert frame['a'].sum() == 3\n"
        "assert pa.Table.from_pandas(frame).column('a').to_pylist() == [1, 2]\n"
    )
    assert "pandas" in loaded(body, tmp_path)


@pytest.mark.parametrize("glue", [False, True])
def test_the_s3_lake_imports_awswrangler_only_to_register_in_glue(tmp_path: Path, glue: bool) -> None:
    body = f"""
import boto3, pyarrow as pa, pyarrow.parquet as pq
from moto import mock_aws
from etl.load.lake.s3 import S3Lake
with mock_aws():
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="lake")
    local = {str(tmp_path / "x.parquet")!r}
    pq.write_table(pa.table({{"a": [1]}}), local)
    lake = S3Lake("s3://lake/root", glue_database={"'etl'" if glue else None})
    assert "awswrangler" not in sys.modules
    lake.publish(__import__("pathlib").Path(local), "s3://lake/root/curated/t/x.parquet", table="t", kind="curated")
"""
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "PATH": "",
    }
    assert ("awswrangler" in loaded(body, tmp_path, env)) is glue


def test_bytecode_is_compiled_at_install() -> None:
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "$(UV) pip install" in line]
    assert len(installs) == 2 and all("--compile-bytecode" in line for line in installs)
    assert "$(BIN)/python -m compileall -q etl" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "RUN pip install --no-cache-dir --compile " in dockerfile
    assert 'RUN python -m compileall -q "${LAMBDA_TASK_ROOT}/etl"' in dockerfile


def test_the_handler_module_builds_no_https_opener_at_import(tmp_path: Path) -> None:
    # building one loads the CA certificates: the first webhook post does it, not every cold start
    body = (
        "import urllib.request\n"
        "built = []\n"
        "urllib.request.build_opener = lambda *a: built.append(a)\n"
        "import etl.handler, etl.notify\n"
        "assert built == [], built\n"
    )
    assert loaded(body, tmp_path) == set()


def test_the_cli_stops_the_collector_before_the_interpreter_tears_it_down(tmp_path: Path) -> None:
    # atexit runs its handlers last-registered first: this one, registered before etl.cli is imported,
    # runs after the CLI's own and finds the collector off (teardown then skips the repeated collections)
    data = tmp_path / "data"
    write(data, "bank_statements", "s.csv", f"{STMT_HEADER}\nT1,C1,2023-02-01,-10.00,POS SHOP,90.00\n")
    body = "import atexit, gc, sys\natexit.register(lambda: print('COLLECTING', gc.isenabled()))\n" + cli(
        "run"
    )
    done = subprocess.run(
        [sys.executable, "-c", body], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert "COLLECTING False" in done.stdout, done.stderr
    assert done.returncode == 0 and "leaked" not in done.stderr  # everything is still freed


def _extract_table_t(tmp_path: Path, url: str) -> tuple[set[str], list[str]]:
    """`etl extract` of table `t` from the database at `url` in a process of its own: the heavy modules it
    imported, and the lines of the file it wrote."""
    (tmp_path / "p.toml").write_text(
        '[[extract]]\nname = "t"\nsource = "bank_statements"\nurl_env = "SRC_URL"\ntable = "t"\n',
        encoding="utf-8",
    )
    env = {"PATH": "/usr/bin:/bin", "SRC_URL": url}
    body = cli("extract", "--profile", "p.toml", "--out", "out", "--warehouse", "duckdb:///w.duckdb")
    modules = loaded(body, tmp_path, env)
    return modules, (tmp_path / "out" / "bank_statements" / "t" / "full.csv").read_text().splitlines()


def test_etl_extract_never_imports_pandas(tmp_path: Path, postgres_url: str) -> None:
    # the ADBC driver's DB-API module imports pyarrow.dataset and with it pandas (0.7-0.9 s a process);
    # the extraction uses the driver's low-level API
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE t (transaction_id text, customer_id text, transaction_date timestamptz,"
            " transaction_amount numeric(18,2), narration text, balance numeric(18,2))"
        )
        conn.execute("INSERT INTO t VALUES ('T1', 'C1', '2024-03-01 10:00+00', 10.50, 'POS', 99.99)")
    modules, written = _extract_table_t(tmp_path, postgres_url)
    assert "pandas" not in modules and not {"connectorx", "pymysql"} & modules  # MySQL's readers: not here
    assert written == [
        '"transaction_id","customer_id","transaction_date","transaction_amount","narration","balance"',
        '"T1","C1","2024-03-01 10:00:00.000000+0000","10.50","POS","99.99"',
    ]


def test_etl_extract_from_mysql_never_imports_pandas(tmp_path: Path, mariadb_url: str) -> None:
    import pymysql

    from tests.plugins.mariadb import USER

    url = urlsplit(mariadb_url)
    with (
        pymysql.connect(
            host=url.hostname, port=url.port or 3306, user=USER, password=url.password, database=url.path[1:]
        ) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(
            "CREATE TABLE t (transaction_id varchar(9), customer_id varchar(9), transaction_date datetime,"
            " transaction_amount decimal(18,2), narration text, balance decimal(18,2))"
        )
        cursor.execute("INSERT INTO t VALUES ('T1', 'C1', '2024-03-01 10:00', 10.50, 'POS', 99.99)")
        conn.commit()
    modules, written = _extract_table_t(tmp_path, mariadb_url)
    assert {"connectorx", "pymysql"} <= modules and "pandas" not in modules
    assert written == [
        '"transaction_id","customer_id","transaction_date","transaction_amount","narration","balance"',
        '"T1","C1",2024-03-01 10:00:00.000000,"10.50","POS","99.99"',
    ]
