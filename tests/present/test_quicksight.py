"""The QuickSight dashboard request: valid against botocore's service model, created and described in moto,
updated (and published) when it exists."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from moto import mock_aws

from etl.present.quicksight import QuickSightError, build_create_request, deploy_dashboard, validation_errors
from etl.present.spec import load_spec, visuals

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def arns() -> dict[str, str]:
    return {
        name: f"arn:aws:quicksight:{REGION}:{ACCOUNT}:dataset/credit-risk-{name.replace('_', '-')}"
        for name, ds in load_spec()["datasets"].items()
        if not ds.get("local_only")
    }


def request() -> dict[str, Any]:
    return build_create_request(
        load_spec(),
        account_id=ACCOUNT,
        dataset_arns=arns(),
        principal_arn=f"arn:aws:quicksight:{REGION}:{ACCOUNT}:group/default/analysts",
    )


def test_request_is_valid_for_the_service_model() -> None:
    req = request()
    assert validation_errors("CreateDashboard", req) == ""
    update = {k: v for k, v in req.items() if k != "Permissions"}
    assert validation_errors("UpdateDashboard", update) == ""


def test_definition_has_every_visual_kind_and_filter() -> None:
    definition = request()["Definition"]
    kinds = {next(iter(v)) for s in definition["Sheets"] for v in s["Visuals"]}
    assert kinds == {"KPIVisual", "BarChartVisual", "LineChartVisual", "HeatMapVisual", "TableVisual"}
    spec_visuals = [v["id"] for v in visuals(load_spec()) if v["dataset"] != "lake_quarantine_by_rule"]
    ids = [next(iter(v.values()))["VisualId"] for s in definition["Sheets"] for v in s["Visuals"]]
    assert ids == spec_visuals
    parameters = {next(iter(p.values()))["Name"] for p in definition["ParameterDeclarations"]}
    assert parameters == {"monthFrom", "monthTo", "employment", "band", "state"}
    filtered = {
        (f["Filters"][0].get("CategoryFilter") or f["Filters"][0]["TimeRangeFilter"])["Column"]["ColumnName"]
        for f in definition["FilterGroups"]
        if not f["FilterGroupId"].startswith("where-")
    }
    assert filtered == {"month_start", "employment_status", "credit_band", "state"}
    expressions = {f["Name"]: f["Expression"] for f in definition["CalculatedFields"]}
    assert expressions["calc_approval_rate"] == "(sum({approved})) / (sum({approved}) + sum({rejected}))"
    declared = {d["Identifier"] for d in definition["DataSetIdentifierDeclarations"]}
    assert declared == set(arns()) and "lake_quarantine_by_rule" not in declared


def test_money_out_by_category_reads_the_spending_rows_only() -> None:
    # the income rows of a category (salary) have total_spend 0: they must not become a 0 bar
    groups = {g["FilterGroupId"]: g for g in request()["Definition"]["FilterGroups"]}
    group = groups["where-spend-by-category-flow"]
    flt = group["Filters"][0]["CategoryFilter"]
    assert flt["Column"] == {"DataSetIdentifier": "mart_spend_by_category_month", "ColumnName": "flow"}
    assert flt["Configuration"]["FilterListConfiguration"]["CategoryValues"] == ["spending"]
    scope = group["ScopeConfiguration"]["SelectedSheets"]["SheetVisualScopingConfigurations"]
    assert scope == [
        {"SheetId": "statements", "Scope": "SELECTED_VISUALS", "VisualIds": ["spend_by_category"]}
    ]


def test_a_visual_some_filter_cannot_filter_says_so() -> None:
    spec = load_spec()
    subtitles = {
        inner["VisualId"]: inner.get("Subtitle", {}).get("FormatText", {}).get("PlainText", "")
        for s in request()["Definition"]["Sheets"]
        for v in s["Visuals"]
        for inner in v.values()
    }
    assert (
        subtitles["interest_by_term"] == "Not filtered by Month, Employment status, State (not in this data)"
    )
    assert subtitles["loans_by_state"] == "" and subtitles["kpi_applications"] == ""
    assert subtitles["risk_customers"] == "Not filtered by Month (not in this data)"
    for v in visuals(spec):
        if v["id"] in subtitles:
            columns = spec["datasets"][v["dataset"]]["columns"]
            missing = [f for f in spec["filters"] if f.get("quicksight_column", f["column"]) not in columns]
            assert bool(subtitles[v["id"]]) == bool(missing), v["id"]
            assert all(f["label"] in subtitles[v["id"]] for f in missing), v["id"]


def test_an_invalid_enum_is_reported_offline() -> None:
    req = copy.deepcopy(request())
    req["Definition"]["FilterGroups"][0]["CrossDataset"] = "EVERYWHERE"
    assert "CrossDataset: 'EVERYWHERE' is not one of" in validation_errors("CreateDashboard", req)


def test_missing_dataset_arn_is_an_error() -> None:
    partial = arns()
    partial.pop("mart_data_quality")
    with pytest.raises(QuickSightError, match="mart_data_quality"):
        build_create_request(load_spec(), account_id=ACCOUNT, dataset_arns=partial)


@mock_aws
def test_create_then_describe_in_moto() -> None:
    session = boto3.session.Session(region_name=REGION)
    result = deploy_dashboard(request(), boto3_session=session)
    assert result["action"] == "created"
    assert result["arn"].endswith(":dashboard/credit-risk")
    described = session.client("quicksight").describe_dashboard(
        AwsAccountId=ACCOUNT, DashboardId="credit-risk"
    )
    assert described["Dashboard"]["Name"] == "Credit risk analytics"
    assert described["Dashboard"]["DashboardId"] == "credit-risk"


class FakeQuickSight:
    """moto 5 has no UpdateDashboard: the update path runs against a recording client."""

    class exceptions:
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def describe_dashboard(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("describe_dashboard", kw))
        return {"Dashboard": {"DashboardId": kw["DashboardId"]}}

    def update_dashboard(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("update_dashboard", kw))
        return {"Arn": "arn:dash", "VersionArn": "arn:dash/version/7"}

    def update_dashboard_published_version(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("update_dashboard_published_version", kw))
        return {}


class FakeSession:
    def __init__(self, client: FakeQuickSight) -> None:
        self._client = client

    def client(self, name: str, region_name: str | None = None) -> FakeQuickSight:
        assert name == "quicksight"
        return self._client


def test_existing_dashboard_is_updated_and_published() -> None:
    fake = FakeQuickSight()
    result = deploy_dashboard(request(), boto3_session=FakeSession(fake))
    assert result["action"] == "updated"
    names = [name for name, _ in fake.calls]
    assert names == ["describe_dashboard", "update_dashboard", "update_dashboard_published_version"]
    assert "Permissions" not in fake.calls[1][1]
    assert fake.calls[2][1]["VersionNumber"] == 7
