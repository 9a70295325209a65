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
    assert kinds == {
        "KPIVisual",
        "BarChartVisual",
        "LineChartVisual",
        "HeatMapVisual",
        "TableVisual",
        "FilledMapVisual",
    }
    spec_visuals = [v["id"] for v in visuals(load_spec()) if v["dataset"] != "lake_quarantine_by_rule"]
    ids = [next(iter(v.values()))["VisualId"] for s in definition["Sheets"] for v in s["Visuals"]]
    assert ids == spec_visuals
    parameters = {next(iter(p.values()))["Name"] for p in definition["ParameterDeclarations"]}
    assert parameters == {"monthFrom", "monthTo", "employment", "band", "state"}
    filtered = {
        (f["Filters"][0].get("CategoryFilter") or f["Filters"][0]["TimeRangeFilter"])["Column"]["ColumnName"]
        for f in definition["FilterGroups"]
        if not f["FilterGroupId"].startswith(("where-", "nonnull-", "positive-"))
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
    # a visual's note follows: what it leaves out or shows apart
    assert subtitles["top_merchants_spend"] == (
        "Not filtered by Month, Employment status, Credit band, State (not in this data). Transactions without "
        "a merchant are left out: their money out is the KPI \u201cMoney out with no merchant named\u201d."
    )
    assert (
        subtitles["fraud_band_rates"]
        == "Applications without a fraud score are the band \u201cNo fraud score\u201d."
    )
    for v in visuals(spec):
        if v["id"] in subtitles:
            columns = spec["datasets"][v["dataset"]]["columns"]
            missing = [f for f in spec["filters"] if f.get("quicksight_column", f["column"]) not in columns]
            assert bool(subtitles[v["id"]]) == bool(missing or v.get("note")), v["id"]
            assert all(f["label"] in subtitles[v["id"]] for f in missing), v["id"]
            assert subtitles[v["id"]].endswith(v.get("note", "")), v["id"]


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


def _visuals_by_id(req: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        inner["VisualId"]: {"kind": kind, **inner}
        for sheet in req["Definition"]["Sheets"]
        for v in sheet["Visuals"]
        for kind, inner in v.items()
    }


def test_the_portfolio_risk_sheet() -> None:
    req = request()
    sheet = next(s for s in req["Definition"]["Sheets"] if s["SheetId"] == "risk")
    assert sheet["Name"] == "Portfolio risk"
    visuals = _visuals_by_id(req)
    spec_ids = [v["id"] for v in next(s for s in load_spec()["sheets"] if s["id"] == "risk")["visuals"]]
    assert [next(iter(v.values()))["VisualId"] for v in sheet["Visuals"]] == spec_ids
    # PAR30: the latest month's value with its trend against the month before
    par30 = visuals["kpi_par30"]["ChartConfiguration"]["FieldWells"]
    assert par30["TrendGroups"][0]["DateDimensionField"]["Column"]["ColumnName"] == "month_start"
    assert par30["Values"][0]["NumericalMeasureField"]["Column"]["ColumnName"] == "calc_par30"
    ks = visuals["kpi_ks"]["ChartConfiguration"]["FieldWells"]
    assert ks["Values"][0]["NumericalMeasureField"]["AggregationFunction"] == {
        "SimpleNumericalAggregation": "MAX"
    }
    assert ks["TrendGroups"][0]["DateDimensionField"]["DateGranularity"] == "QUARTER"
    assert visuals["vintage_default"]["kind"] == "LineChartVisual"
    assert visuals["dpd_distribution"]["ChartConfiguration"]["BarsArrangement"] == "STACKED"
    expressions = {f["Name"]: f["Expression"] for f in req["Definition"]["CalculatedFields"]}
    assert expressions["calc_par30"] == "(sum({par30_outstanding})) / (sum({outstanding}))"
    # the roll-rate matrix: each cell's share of its row, grey (null) under 5 loans
    assert expressions["calc_roll_rates"] == (
        "ifelse((sum({loans})) < 5, NULL, percentOfTotal(sum({loans}), [{from_bucket}]))"
    )
    groups = {g["FilterGroupId"]: g["Filters"][0] for g in req["Definition"]["FilterGroups"]}
    # the PSI trend reads the default baseline (the first quarter), the KS KPI the quarters with a KS
    assert groups["where-psi-trend-is-default-baseline"]["NumericEqualityFilter"]["Value"] == 1
    assert groups["nonnull-kpi-ks-ks"]["NumericRangeFilter"]["NullOption"] == "NON_NULLS_ONLY"


def test_heatmaps_start_at_zero_show_n_and_grey_out_small_cells() -> None:
    visuals = _visuals_by_id(request())
    expressions = {f["Name"]: f["Expression"] for f in request()["Definition"]["CalculatedFields"]}
    assert expressions["calc_default_heatmap"] == (
        "ifelse((sum({loans})) < 10, NULL, (sum({defaulted_loans})) / (sum({loans})))"
    )
    for vid, dataset in (("default_heatmap", "mart_loan_segment_monthly"), ("roll_rates", "mart_roll_rates")):
        config = visuals[vid]["ChartConfiguration"]
        assert config["ColorScale"]["Colors"][0] == {"Color": "#FFF5F0", "DataValue": 0}
        assert config["ColorScale"]["NullValueColor"] == {"Color": "#D9DDE1"}
        assert config["DataLabels"] == {"Visibility": "VISIBLE"}
        tips = config["Tooltip"]["FieldBasedTooltip"]["TooltipFields"]
        n = [t["ColumnTooltipItem"] for t in tips if "ColumnTooltipItem" in t]
        assert n == [
            {
                "Column": {
                    "DataSetIdentifier": dataset,
                    "ColumnName": "loans",
                },
                "Label": "n",
                "Visibility": "VISIBLE",
                "Aggregation": {"NumericalAggregationFunction": {"SimpleNumericalAggregation": "SUM"}},
            }
        ]


def test_money_carries_the_currency_and_categories_their_colours() -> None:
    spec = load_spec()
    req = build_create_request(spec, account_id=ACCOUNT, dataset_arns=arns(), currency="USD")
    assert validation_errors("CreateDashboard", req) == ""
    visuals = _visuals_by_id(req)
    amount = visuals["kpi_total_loan_amount"]["ChartConfiguration"]["FieldWells"]["Values"][0]
    money = amount["NumericalMeasureField"]["FormatConfiguration"]["FormatConfiguration"]
    assert money["CurrencyDisplayFormatConfiguration"]["Symbol"] == "USD"
    assert money["CurrencyDisplayFormatConfiguration"]["NumberScale"] == "NONE"  # never 54.2M
    default = _visuals_by_id(request())["kpi_total_loan_amount"]["ChartConfiguration"]["FieldWells"][
        "Values"
    ][0]
    assert (
        default["NumericalMeasureField"]["FormatConfiguration"]["FormatConfiguration"][
            "CurrencyDisplayFormatConfiguration"
        ]["Symbol"]
        == "NGN"
    )
    colors = {
        e["Element"]["FieldValue"]: e["Color"]
        for e in visuals["volume_by_category"]["ChartConfiguration"]["VisualPalette"]["ColorMap"]
    }
    assert colors["utilities"] != colors["airtime"]
    assert colors == {k: c.upper() for k, c in spec["colors"]["category"].items()}
    assert visuals["monthly_trend"]["ChartConfiguration"]["PrimaryYAxisDisplayOptions"]["AxisOptions"] == {
        "DataOptions": {"NumericAxisOptions": {"Range": {"MinMax": {"Minimum": 0}}}}
    }


def test_top_n_tables_leave_out_zero_and_blank_rows() -> None:
    groups = {g["FilterGroupId"]: g for g in request()["Definition"]["FilterGroups"]}
    for vid, column in (("top-applicants", "total-loan-amount"), ("risk-customers", "betting-share")):
        group = groups[f"positive-{vid}-{column}"]
        flt = group["Filters"][0]["NumericRangeFilter"]
        assert flt["RangeMinimum"] == {"StaticValue": 0} and flt["IncludeMinimum"] is False
        assert flt["NullOption"] == "NON_NULLS_ONLY"
        scope = group["ScopeConfiguration"]["SelectedSheets"]["SheetVisualScopingConfigurations"][0]
        assert scope["Scope"] == "SELECTED_VISUALS" and scope["VisualIds"] == [vid.replace("-", "_")]


def test_the_filled_map_places_nigerian_states() -> None:
    visual = _visuals_by_id(request())["loans_by_state_map"]
    assert visual["kind"] == "FilledMapVisual"
    wells = visual["ChartConfiguration"]["FieldWells"]["FilledMapAggregatedFieldWells"]
    assert wells["Geospatial"][0]["CategoricalDimensionField"]["Column"]["ColumnName"] == "state"
    preferences = {
        p["RequestKey"]["State"]: p["Preference"]["GeocoderHierarchy"] for p in visual["GeocodingPreferences"]
    }
    assert preferences["Abuja FCT"] == {"Country": "Nigeria", "State": "Federal Capital Territory"}
    assert preferences["Lagos"] == {"Country": "Nigeria", "State": "Lagos"}
    assert len(preferences) >= 37


def test_the_psi_baseline_comes_from_the_settings() -> None:
    req = build_create_request(load_spec(), account_id=ACCOUNT, dataset_arns=arns(), score_baseline="2023-Q3")
    assert validation_errors("CreateDashboard", req) == ""
    groups = {g["FilterGroupId"]: g["Filters"][0] for g in req["Definition"]["FilterGroups"]}
    flt = groups["where-psi-trend-baseline-quarter"]["CategoryFilter"]
    assert flt["Configuration"]["FilterListConfiguration"]["CategoryValues"] == ["2023-Q3"]
    assert "where-psi-trend-is-default-baseline" not in groups
