"""The QuickSight datasets Terraform declares agree with the real mart views and the dashboard.

Three pieces were written apart and must not drift:
- `etl/model/marts.py` (MARTS): the `mart_*` views the warehouse creates (`Warehouse.ensure_schema`);
- `infrastructure/quicksight_marts.tf` (`local.mart_columns`): one direct-query dataset per view, whose
  physical-table input columns QuickSight needs declared up front;
- the dashboard spec (`load_spec()`'s default, package data) + `etl/present/quicksight.py`: the dashboard that reads those datasets through the ARNs of
  the Terraform output `quicksight_data_set_arns` (`etl quicksight --dataset-arns FILE`).

The real columns come from a DuckDB warehouse built here with the product's own schema code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from etl.load.lake import LocalLake
from etl.load.warehouse import open_warehouse
from etl.model.marts import MARTS
from etl.pipeline import Pipeline
from etl.present.quicksight import build_create_request, validation_errors
from etl.present.spec import load_spec
from etl.settings import Settings

from .hcl import INFRA, block, load

ROOT = INFRA.parent

# DuckDB type of a view column -> the QuickSight InputColumn type Terraform must declare for it.
QUICKSIGHT_TYPE = {
    "VARCHAR": "STRING",
    "SMALLINT": "INTEGER",
    "INTEGER": "INTEGER",
    "BIGINT": "INTEGER",
    "DECIMAL": "DECIMAL",
    "DOUBLE": "DECIMAL",
    "DATE": "DATETIME",
    "TIMESTAMP": "DATETIME",
    "BOOLEAN": "BIT",
}


def quicksight_type(duckdb_type: str) -> str:
    base = re.sub(r"\(.*\)$", "", duckdb_type.strip().upper())
    assert base in QUICKSIGHT_TYPE, f"no QuickSight type for {duckdb_type}: extend QUICKSIGHT_TYPE"
    return QUICKSIGHT_TYPE[base]


@pytest.fixture(scope="module")
def view_columns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, str]]]:
    """{view: [(column, DuckDB type), ...]} in column order, from the product's own schema code."""
    tmp = tmp_path_factory.mktemp("marts")
    settings = Settings(warehouse_url=f"duckdb:///{tmp / 'warehouse.duckdb'}", lake=str(tmp / "lake"))
    warehouse = open_warehouse(settings)
    try:
        Pipeline(settings, LocalLake(tmp / "lake"), warehouse).prepare()
        found: dict[str, list[tuple[str, str]]] = {}
        for mart in MARTS:
            rows = warehouse.query(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                [mart.name],
            )
            found[mart.name] = [(str(name), str(kind)) for name, kind in rows]
        return found
    finally:
        warehouse.close()


@pytest.fixture(scope="module")
def declared() -> dict[str, list[dict[str, str]]]:
    columns = load(".").locals["mart_columns"]
    assert isinstance(columns, dict)
    return columns


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    # The spec `etl quicksight` reads when deploy.yml runs it (no --spec): the package's default.
    data = load_spec()
    assert isinstance(data, dict)
    return data


def allowed_input_column_types() -> set[str]:
    model = botocore.session.get_session().get_service_model("quicksight")
    return set(model.shape_for("InputColumnDataType").enum)


def test_every_view_exists_and_has_columns(view_columns: dict[str, list[tuple[str, str]]]) -> None:
    empty = [name for name, columns in view_columns.items() if not columns]
    assert not empty, f"views not created by Pipeline.prepare(): {empty}"


def test_terraform_declares_exactly_the_marts(declared: dict[str, Any]) -> None:
    assert set(declared) == {mart.name for mart in MARTS}


@pytest.mark.parametrize("mart", [m.name for m in MARTS])
def test_declared_columns_are_the_view_columns_with_compatible_types(
    mart: str,
    declared: dict[str, list[dict[str, str]]],
    view_columns: dict[str, list[tuple[str, str]]],
) -> None:
    real = [(name, quicksight_type(kind)) for name, kind in view_columns[mart]]
    tf = [(column["name"], column["type"]) for column in declared[mart]]
    assert [n for n, _ in tf] == [n for n, _ in real], (
        f"{mart}: columns differ from the view "
        f"(missing {sorted({n for n, _ in real} - {n for n, _ in tf})}, "
        f"extra {sorted({n for n, _ in tf} - {n for n, _ in real})}); regenerate quicksight_marts.tf"
    )
    assert tf == real, f"{mart}: types differ from the view"


def test_declared_types_are_quicksight_input_column_types(declared: dict[str, Any]) -> None:
    allowed = allowed_input_column_types()
    assert set(QUICKSIGHT_TYPE.values()) <= allowed
    bad = {
        (mart, c["name"], c["type"])
        for mart, cols in declared.items()
        for c in cols
        if c["type"] not in allowed
    }
    assert not bad, f"not a QuickSight InputColumnDataType ({sorted(allowed)}): {sorted(bad)}"


def test_the_module_turns_every_declared_column_into_an_input_column() -> None:
    call = load(".").named("module")["quicksight"]
    assert call["mart_columns"] == "${local.mart_columns}"
    quicksight = load("modules/quicksight")
    assert quicksight.locals["datasets"] == "${{for view, columns in var.mart_columns : view => columns}}"
    data_set = quicksight.resources("aws_quicksight_data_set")["mart"]
    assert data_set["for_each"] == "${local.datasets}"
    assert data_set["import_mode"] == "DIRECT_QUERY"
    table = block(block(data_set, "physical_table_map"), "relational_table")
    assert table["name"] == "${each.key}"
    assert table["schema"] == "${var.mart_schema}"
    content = block(block(table, "dynamic"), "input_columns")["content"]
    content = content[0] if isinstance(content, list) else content
    assert content == {"name": "${input_columns.value.name}", "type": "${input_columns.value.type}"}


def test_dashboard_datasets_are_declared_with_the_same_columns_and_types(
    spec: dict[str, Any], declared: dict[str, list[dict[str, str]]]
) -> None:
    for name, dataset in spec["datasets"].items():
        if dataset.get("local_only"):
            continue
        assert name in declared, f"dashboard/spec.json reads {name}, which Terraform does not declare"
        columns = {c["name"]: c["type"] for c in declared[name]}
        for column, kind in dataset["columns"].items():
            assert column in columns, f"{name}.{column} is in the spec but not in the view"
            assert columns[column] == kind, f"{name}.{column}: spec says {kind}, Terraform {columns[column]}"
    for f in spec["filters"]:
        column = f.get("quicksight_column", f["column"])
        assert any(column in {c["name"] for c in cols} for cols in declared.values()), column


def test_data_set_arns_output_is_the_map_etl_quicksight_reads() -> None:
    # `terraform output -json quicksight_data_set_arns` prints the output's value only: for this output a
    # JSON object {mart view name: dataset ARN}, the file `etl quicksight --dataset-arns` json.loads.
    outputs = load(".").named("output")
    assert outputs["quicksight_data_set_arns"]["value"] == (
        "${var.quicksight_enabled ? module.quicksight[0].data_set_arns : {}}"
    )
    module_output = load("modules/quicksight").named("output")["data_set_arns"]["value"]
    assert module_output == "${{for view, data_set in aws_quicksight_data_set.mart : view => data_set.arn}}"


def test_etl_quicksight_accepts_the_output_for_every_declared_mart(
    tmp_path: Path, declared: dict[str, Any], spec: dict[str, Any]
) -> None:
    # What the deploy workflow writes to dataset-arns.json, with the ARNs Terraform would give the datasets
    # (data_set_id = "<name>-<view with dashes>").
    arns = {
        view: f"arn:aws:quicksight:eu-west-1:123456789012:dataset/credit-risk-etl-prod-{view.replace('_', '-')}"
        for view in declared
    }
    path = tmp_path / "dataset-arns.json"
    path.write_text(json.dumps(arns), encoding="utf-8")
    request = build_create_request(
        spec,
        account_id="123456789012",
        dataset_arns=json.loads(path.read_text(encoding="utf-8")),
        principal_arn="arn:aws:quicksight:eu-west-1:123456789012:group/default/analysts",
    )
    assert validation_errors("CreateDashboard", request) == ""
    used = {d["Identifier"] for d in request["Definition"]["DataSetIdentifierDeclarations"]}
    assert used <= set(declared)


def _column_references(node: Any, parent: dict[str, Any] | None = None) -> list[tuple[dict[str, Any], Any]]:
    """Every {"DataSetIdentifier", "ColumnName"} in a definition, with the field that holds it."""
    if isinstance(node, dict):
        if "ColumnName" in node and "DataSetIdentifier" in node:
            return [(node, parent)]
        return [ref for value in node.values() for ref in _column_references(value, node)]
    if isinstance(node, list):
        return [ref for value in node for ref in _column_references(value, parent)]
    return []


def test_calculated_fields_do_not_repeat_a_dataset_column_and_visuals_read_them_unambiguously(
    spec: dict[str, Any], declared: dict[str, list[dict[str, str]]]
) -> None:
    # QuickSight rejects a calculated field named like a column of its dataset (mart_data_quality has a
    # quarantine_rate column); a visual reading that name would get the row-level column, not the ratio.
    arns = {view: f"arn:aws:quicksight:eu-west-1:123456789012:dataset/{view}" for view in declared}
    definition = build_create_request(spec, account_id="123456789012", dataset_arns=arns)["Definition"]
    columns = {view: {c["name"] for c in cols} for view, cols in declared.items()}
    calculated = {(f["DataSetIdentifier"], f["Name"]) for f in definition["CalculatedFields"]}
    clashes = sorted((ds, name) for ds, name in calculated if name in columns[ds])
    assert not clashes, f"calculated fields named like a column of their dataset: {clashes}"
    refs = _column_references(definition["Sheets"]) + _column_references(definition["FilterGroups"])
    assert refs
    for column, field in refs:
        key = (column["DataSetIdentifier"], column["ColumnName"])
        if key in calculated:  # an aggregate expression: the visual must not aggregate it again
            assert "AggregationFunction" not in (field or {}), key
        else:
            assert key[1] in columns[key[0]], f"{key}: neither a column nor a calculated field of the dataset"
    kpi = next(
        v["KPIVisual"]
        for s in definition["Sheets"]
        for v in s["Visuals"]
        if "KPIVisual" in v and v["KPIVisual"]["VisualId"] == "kpi_quarantine_rate"
    )
    value = kpi["ChartConfiguration"]["FieldWells"]["Values"][0]["NumericalMeasureField"]
    assert (value["Column"]["DataSetIdentifier"], value["Column"]["ColumnName"]) in calculated


# QuickSight accepts only its predefined permission sets on data sources and datasets (API reference,
# UpdateDataSourcePermissions / UpdateDataSetPermissions examples; the same sets as awswrangler's
# quicksight module): "use" and "owner". The principal of this stack owns both.
DATA_SOURCE_USE = {
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
}
DATA_SOURCE_OWNER = DATA_SOURCE_USE | {
    "quicksight:UpdateDataSource",
    "quicksight:DeleteDataSource",
    "quicksight:UpdateDataSourcePermissions",
}
DATA_SET_USE = {
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
}
DATA_SET_OWNER = DATA_SET_USE | {
    "quicksight:UpdateDataSet",
    "quicksight:DeleteDataSet",
    "quicksight:CreateIngestion",
    "quicksight:CancelIngestion",
    "quicksight:UpdateDataSetPermissions",
}


def test_documented_sets_agree_with_awswrangler() -> None:
    # A second, independent copy of the sets (installed with the ETL): catches a typo in the lists above.
    from awswrangler.quicksight._create import _ALLOWED_ACTIONS

    assert set(_ALLOWED_ACTIONS["data_source"]["allowed_to_use"]) == DATA_SOURCE_USE
    assert set(_ALLOWED_ACTIONS["data_source"]["allowed_to_manage"]) == DATA_SOURCE_OWNER
    assert set(_ALLOWED_ACTIONS["dataset"]["allowed_to_use"]) == DATA_SET_USE
    assert set(_ALLOWED_ACTIONS["dataset"]["allowed_to_manage"]) == DATA_SET_OWNER


def test_permissions_are_exactly_quicksights_owner_sets() -> None:
    # The data source lacked DeleteDataSource and the datasets CancelIngestion: QuickSight refuses a set
    # that is neither "use" nor "owner", so the first apply with quicksight_enabled failed.
    quicksight = load("modules/quicksight")
    (source,) = quicksight.resources("aws_quicksight_data_source").values()
    assert block(source, "permission") == {
        "principal": "${var.principal_arn}",
        "actions": "${local.data_source_owner_actions}",
    }
    assert set(quicksight.locals["data_source_owner_actions"]) == DATA_SOURCE_OWNER
    assert len(quicksight.locals["data_source_owner_actions"]) == len(DATA_SOURCE_OWNER)
    data_set = quicksight.resources("aws_quicksight_data_set")["mart"]
    assert block(data_set, "permissions") == {
        "principal": "${var.principal_arn}",
        "actions": "${local.data_set_owner_actions}",
    }
    assert set(quicksight.locals["data_set_owner_actions"]) == DATA_SET_OWNER
    assert len(quicksight.locals["data_set_owner_actions"]) == len(DATA_SET_OWNER)


def test_the_installed_package_ships_the_spec_etl_quicksight_reads(tmp_path: Path) -> None:
    # deploy.yml installs the checkout non-editable (`python -m pip install --no-deps .`) and runs
    # `etl quicksight` without --spec, so the default spec must be inside the installed package.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "etl", src / "etl", ignore=ignore)
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(src),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    probe = (
        "import json, etl\n"
        "from etl.present.spec import load_spec\n"
        "spec = load_spec()\n"
        "print(json.dumps({'package': etl.__file__, 'datasets': sorted(spec['datasets'])}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr.strip().splitlines()[-1]
    found = json.loads(run.stdout)
    assert Path(found["package"]).is_relative_to(site)
    assert found["datasets"] == sorted(load_spec()["datasets"])


def test_state_columns_carry_the_state_geographic_role(declared: dict[str, list[dict[str, str]]]) -> None:
    # The filled map of loans by state needs its dataset's state column tagged STATE.
    roles = load(".").locals["mart_geographic_roles"]
    assert "for view, columns in local.mart_columns" in roles and '"STATE"' in roles
    with_state = sorted(
        view for view, columns in declared.items() if any(c["name"] == "state" for c in columns)
    )
    assert "mart_loan_segment_monthly" in with_state
    call = load(".").named("module")["quicksight"]
    assert call["geographic_roles"] == "${local.mart_geographic_roles}"
    data_set = load("modules/quicksight").resources("aws_quicksight_data_set")["mart"]
    logical = block(block(data_set, "dynamic"), "logical_table_map")
    content = logical["content"][0] if isinstance(logical["content"], list) else logical["content"]
    transforms = block(block(content, "dynamic"), "data_transforms")["content"]
    transforms = transforms[0] if isinstance(transforms, list) else transforms
    operation = block(transforms, "tag_column_operation")
    assert operation["column_name"] == "${data_transforms.key}"
    assert block(operation, "tags") == {"column_geographic_role": "${data_transforms.value}"}
