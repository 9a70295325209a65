"""The core end-to-end scenarios of tests/test_pipeline.py, unchanged, against a real PostgreSQL server.

The scenarios are imported, not copied: the same CSVs and the same exact expected values, with only the
`env` fixture pointing at PostgreSQL instead of DuckDB.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.load.warehouse.pg import PgEnv, make_pg_env
from tests.pipeline import test_pipeline as core


@pytest.fixture
def env(tmp_path: Path, postgres_url: str) -> PgEnv:
    return make_pg_env(tmp_path, postgres_url)


test_real_sample_loads_every_row_with_exact_sums = core.test_real_sample_loads_every_row_with_exact_sums
test_replay_and_renamed_copy_are_skipped_and_change_nothing = (
    core.test_replay_and_renamed_copy_are_skipped_and_change_nothing
)
test_duplicate_keys_keep_the_last_occurrence_even_across_chunks = (
    core.test_duplicate_keys_keep_the_last_occurrence_even_across_chunks
)
test_corrected_file_upserts_and_builds_type2_history = (
    core.test_corrected_file_upserts_and_builds_type2_history
)
test_customers_without_applications_become_inferred_members = (
    core.test_customers_without_applications_become_inferred_members
)
test_repayments_find_their_customer_through_the_application = (
    core.test_repayments_find_their_customer_through_the_application
)
test_bad_files_are_rejected_while_the_others_load = core.test_bad_files_are_rejected_while_the_others_load
test_quoted_fields_with_commas_quotes_newlines_and_non_ascii_are_stored_exactly = (
    core.test_quoted_fields_with_commas_quotes_newlines_and_non_ascii_are_stored_exactly
)
test_a_corrected_file_that_moves_an_application_refreshes_both_customers = (
    core.test_a_corrected_file_that_moves_an_application_refreshes_both_customers
)
test_a_repayment_belongs_to_its_applications_customer = (
    core.test_a_repayment_belongs_to_its_applications_customer
)
test_repayment_status_without_an_amount_paid_column = core.test_repayment_status_without_an_amount_paid_column
test_a_uri_and_name_longer_than_the_ledger_columns_are_shortened_not_a_failed_load = (
    core.test_a_uri_and_name_longer_than_the_ledger_columns_are_shortened_not_a_failed_load
)


def test_these_scenarios_really_run_on_postgresql(env: PgEnv) -> None:
    env.data.mkdir()
    env.run()  # creates the schema
    assert env.settings.warehouse_url.startswith("postgresql://")
    assert str(env.scalar("SELECT version()")).startswith("PostgreSQL")
