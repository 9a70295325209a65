"""The Lambda container image, checked without a Docker engine.

The Dockerfile installs requirements/lambda.txt into ${LAMBDA_TASK_ROOT} and copies etl/ beside it.
These tests do the same into a temporary task root (the same locked wheels for CPython 3.12 on
x86_64 manylinux) and run the handler from there with a bare Python 3.12 that sees only that folder,
as the Lambda runtime would: a dependency missing from the lock fails here, not after a deploy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements" / "lambda.txt"
LOCK_INPUT = ROOT / "requirements" / "lambda.in"
EVENTS = ROOT / "tests" / "fixtures" / "events"
PYTHON_CANDIDATES = (
    Path("/root/.pyenv/versions/3.12.1/bin/python3.12"),
    Path(sys.base_prefix) / "bin" / "python3.12",
)
RUNTIME_IMPORTS = (
    "pandas",
    "numpy",
    "pyarrow",
    "duckdb",
    "pydantic",
    "pydantic_settings",
    "typer",
    "rich",
    "boto3",
    "awswrangler",
    "aws_lambda_powertools",
    "psycopg",
    "redshift_connector",
    "aws_xray_sdk",
)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtime_pins() -> dict[str, str]:
    """pyproject's runtime dependencies as {canonical name: version} (extras dropped)."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {}
    for requirement in dependencies:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;]+)", requirement)
        assert match, f"runtime dependency not pinned exactly: {requirement}"
        pins[_canonical(match[1])] = match[2]
    return pins


def _locked() -> dict[str, tuple[str, list[str]]]:
    """requirements/lambda.txt as {canonical name: (version, hashes)}."""
    locked: dict[str, tuple[str, list[str]]] = {}
    current: list[str] = []
    for line in LOCK.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line[0].isspace():
            match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", stripped)
            assert match, f"unpinned line in {LOCK.name}: {line}"
            current = []
            locked[_canonical(match[1])] = (match[2], current)
        elif stripped.startswith("--hash="):
            current.append(stripped.removesuffix("\\").strip())
    return locked


def test_dockerfile_installs_the_hash_locked_runtime_requirements() -> None:
    dockerfile = DOCKERFILE.read_text()

    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.12@sha256:[0-9a-f]{64}$", dockerfile, re.M)
    assert re.search(r"^COPY requirements/lambda\.txt ", dockerfile, re.M)
    install = re.search(r"^RUN pip install .*?(?<!\\)$", dockerfile, re.M | re.S)
    assert install, "no pip install in the Dockerfile"
    for flag in ("--no-cache-dir", "--require-hashes", '--target "${LAMBDA_TASK_ROOT}"', "lambda.txt"):
        assert flag in install[0]
    assert re.search(r"^COPY etl/ \$\{LAMBDA_TASK_ROOT\}/etl/$", dockerfile, re.M)
    assert dockerfile.rstrip().endswith('CMD ["etl.handler.lambda_handler"]')


def test_lock_pins_every_runtime_dependency_with_hashes() -> None:
    locked = _locked()

    assert locked, f"{LOCK} is empty"
    for name, (version, hashes) in locked.items():
        assert hashes, f"{name}=={version} has no --hash"
        assert all(re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", h) for h in hashes), name
    for name, version in _runtime_pins().items():
        assert name in locked, f"{name} missing from {LOCK.name}"
        assert locked[name][0] == version, f"{name}: lock has {locked[name][0]}, pyproject pins {version}"
    assert "psycopg-binary" in locked
    for dev_only in ("pytest", "moto", "ruff", "mypy"):
        assert dev_only not in locked, f"{dev_only} is a dev dependency, not a runtime one"


def test_lock_input_matches_pyproject() -> None:
    lines = [line.strip() for line in LOCK_INPUT.read_text().splitlines()]
    requirements = {line for line in lines if line and not line.startswith("#")}

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert requirements == set(dependencies), (
        "requirements/lambda.in must list pyproject's [project] dependencies exactly: update it, then `make lock`"
    )


def _python312() -> Path:
    for candidate in PYTHON_CANDIDATES:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("python3.12")
    if found is None:
        pytest.skip("no CPython 3.12 interpreter to play the Lambda runtime")
    return Path(found)


@pytest.fixture(scope="session")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A ${LAMBDA_TASK_ROOT}: the locked wheels plus a copy of etl/, installed once per session."""
    uv = Path(sys.executable).parent / "uv"
    if not uv.is_file():
        pytest.skip("uv is not installed in the project venv")
    task = tmp_path_factory.mktemp("lambda-image") / "task"
    command = [
        str(uv), "pip", "install", "--quiet",
        "--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28",
        "--require-hashes", "--no-deps", "--only-binary", ":all:",
        "--target", str(task), "-r", str(LOCK),
    ]  # fmt: skip
    installed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, installed.stderr
    shutil.copytree(ROOT / "etl", task / "etl", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    yield task


def _run_in_task_root(
    task: Path, code: str, cwd: Path, extra_env: dict[str, str] | None = None
) -> dict[str, object]:
    """Run `code` with a bare Python 3.12 whose only third-party path is `task`; it prints one JSON line."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
        "PYTHONPATH": str(task),
        "LAMBDA_TASK_ROOT": str(task),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "credit-risk-etl",
        "POWERTOOLS_SERVICE_NAME": "credit-risk-etl",
        "POWERTOOLS_METRICS_NAMESPACE": "CreditRiskEtl",
        **(extra_env or {}),
    }
    # -S: no site module, so neither this venv nor the interpreter's own site-packages are importable.
    preamble = (
        "import sys, json\n"
        f"bad = [p for p in sys.path if 'site-packages' in p or {str(ROOT / '.venv')!r} in p]\n"
        "assert not bad, bad\n"
    )
    completed = subprocess.run(
        [str(_python312()), "-S", "-s", "-B", "-c", preamble + code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def test_locked_requirements_import_from_the_task_root_alone(task_root: Path, tmp_path: Path) -> None:
    code = (
        "import importlib\n"
        f"modules = {{name: importlib.import_module(name).__file__ for name in {RUNTIME_IMPORTS!r}}}\n"
        "import psycopg\n"
        "print(json.dumps({'modules': modules, 'psycopg_impl': psycopg.pq.__impl__}))\n"
    )

    report = _run_in_task_root(task_root, code, tmp_path)

    modules = report["modules"]
    assert set(modules) == set(RUNTIME_IMPORTS)
    for name, path in modules.items():
        assert str(path).startswith(str(task_root)), f"{name} imported from {path}"
    assert report["psycopg_impl"] == "binary"


def _s3_test_event() -> dict[str, object]:
    """S3's s3:TestEvent as it reaches the function through SQS (a saved moto event)."""
    saved = json.loads((EVENTS / "sqs_s3_notifications.json").read_text())
    records = [record for record in saved["Records"] if '"s3:TestEvent"' in record["body"]]
    assert records, "the saved SQS event has no s3:TestEvent message"
    return {"Records": records}


def _handler_code(event_file: Path) -> str:
    return (
        "import types\n"
        "from etl.handler import lambda_handler\n"
        "context = types.SimpleNamespace(\n"
        "    function_name='credit-risk-etl', function_version='$LATEST', memory_limit_in_mb=2048,\n"
        "    invoked_function_arn='arn:aws:lambda:us-east-1:123456789012:function:credit-risk-etl',\n"
        "    aws_request_id='00000000-0000-4000-8000-000000000000', log_group_name='/aws/lambda/credit-risk-etl',\n"
        "    log_stream_name='smoke', get_remaining_time_in_millis=lambda: 900_000,\n"
        ")\n"
        f"event = json.loads(open({str(event_file)!r}).read())\n"
        "print(json.dumps({'report': lambda_handler(event, context)}))\n"
    )


def test_handler_acknowledges_s3_test_event_from_the_task_root(task_root: Path, tmp_path: Path) -> None:
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(_s3_test_event()))

    report = _run_in_task_root(task_root, _handler_code(event_file), tmp_path)

    assert report["report"] == {"batchItemFailures": []}


def test_a_sampled_invocation_is_traced_to_the_xray_daemon(task_root: Path, tmp_path: Path) -> None:
    """The Tracer (aws-xray-sdk from the lock) sends the invocation's subsegment to the daemon Lambda runs."""
    import socket

    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(_s3_test_event()))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(10)
        trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=557abcec3ee5a047;Sampled=1"
        env = {"AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}", "_X_AMZN_TRACE_ID": trace}
        report = _run_in_task_root(task_root, _handler_code(event_file), tmp_path, env)
        header, _, body = daemon.recv(65536).decode().partition("\n")

    assert report["report"] == {"batchItemFailures": []}
    assert json.loads(header) == {"format": "json", "version": 1}
    segment = json.loads(body)
    assert segment["name"] == "## handle_invocation"
    assert segment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert segment["parent_id"] == "557abcec3ee5a047"
