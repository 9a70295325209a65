"""Shared pytest configuration: plugins used across the suite."""

pytest_plugins = ["tests.plugins.postgres", "tests.plugins.mariadb"]

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.helpers import Env, make_env  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def env(tmp_path: Path) -> Env:
    """A fresh local lake and DuckDB warehouse file."""
    return make_env(tmp_path)


@pytest.fixture(scope="session")
def indicina_sample() -> Path:
    """The real sample from outside the project (read from ../shared, never copied into the repository)."""
    path = SHARED / "samples" / "indicina" / "loan_data.csv"
    if not path.exists():
        pytest.fail(f"shared sample missing: {path}")
    return path
