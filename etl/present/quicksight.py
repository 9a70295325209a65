"""The QuickSight renderer of the dashboard spec (`etl/present/dashboard/spec.json`): a dashboard `Definition` and its create-or-update.

The same spec as the local HTML: sheets, KPI/bar/line/heatmap/table visuals reading the mart datasets
Terraform creates (one DIRECT_QUERY dataset per mart view), measures as sums or calculated ratios of sums,
and the four filters as parameters with controls on every sheet; each parameter drives one filter per
dataset that has the column, so one control filters every visual that can be filtered (a visual whose
dataset lacks a filter's column names that filter in its subtitle). Datasets marked
`local_only` in the spec (read from the local lake) have no QuickSight dataset and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from etl.present.quicksight_check import QuickSightError, check_request, validation_errors
from etl.present.quicksight_style import (
    geocoding_preferences,
    heatmap_expression,
    heatmap_scale,
    n_tooltip,
    number_format,
    palette,
    value_axis_from_zero,
    visual_filters,
)
from etl.present.spec import Spec, with_settings

__all__ = [
    "QuickSightError",
    "build_create_request",
    "check_request",
    "deploy_dashboard",
    "validation_errors",
]

DEFAULT_DASHBOARD_ID = "credit-risk"
_MAX_ID = 512


def _field_id(visual: str, name: str) -> str:
    return f"{visual}.{name}"[:_MAX_ID]


def _column(dataset: str, name: str) -> dict[str, str]:
    return {"DataSetIdentifier": dataset, "ColumnName": name}


def _title(text: str) -> dict[str, Any]:
    return {"Visibility": "VISIBLE", "FormatText": {"PlainText": text}}


# Calculated fields live in their own namespace: QuickSight rejects a calculated field that repeats a
# dataset column's name (mart_data_quality has a row-level quarantine_rate column, the measure of the same
# name is a ratio of sums), and a visual reading the name would be ambiguous.
CALCULATED_PREFIX = "calc_"


def calculated_name(measure: str) -> str:
    """The analysis calculated field of a ratio (or multi-column) measure."""
    return f"{CALCULATED_PREFIX}{measure}"


def _measure(spec: Spec, visual: str, dataset: str, name: str) -> dict[str, Any]:
    m = spec["measures"][name]
    field: dict[str, Any] = {
        "FieldId": _field_id(visual, name),
        "Column": _column(dataset, calculated_name(name)),
    }
    if "den" not in m and len(m["num"]) == 1:
        field["Column"] = _column(dataset, m["num"][0])
        field["AggregationFunction"] = {
            "SimpleNumericalAggregation": "MAX" if m.get("agg") == "max" else "SUM"
        }
    field["FormatConfiguration"] = {
        "FormatConfiguration": number_format(m.get("format", "ratio"), spec.get("currency", "NGN"))
    }
    return {"NumericalMeasureField": field}


def _dimension(
    spec: Spec, visual: str, dataset: str, column: str, granularity: str = "MONTH"
) -> dict[str, Any]:
    field = {"FieldId": _field_id(visual, column), "Column": _column(dataset, column)}
    kind = spec["datasets"][dataset]["columns"][column]
    if kind == "INTEGER":
        return {"NumericalDimensionField": field}
    if kind == "DATETIME":
        return {"DateDimensionField": {**field, "DateGranularity": granularity}}
    return {"CategoricalDimensionField": field}


def calculated_fields(spec: Spec) -> list[dict[str, str]]:
    """One calculated field `calc_<measure>` per ratio (or multi-column) measure and dataset that uses it."""
    used = sorted(
        {
            (v["dataset"], m)
            for v in _visuals(spec)
            for m in ([v["measure"]] if "measure" in v else v.get("measures", []))
        }
    )
    fields = []
    for dataset, name in used:
        m = spec["measures"][name]
        if "den" not in m and len(m["num"]) == 1:
            continue
        num = " + ".join(f"sum({{{c}}})" for c in m["num"])
        expression = num if "den" not in m else f"({num}) / ({' + '.join(f'sum({{{c}}})' for c in m['den'])})"
        fields.append({"DataSetIdentifier": dataset, "Name": calculated_name(name), "Expression": expression})
    for v in _visuals(spec):  # a heatmap's value: row shares and the minimum n are its own
        if v["type"] == "heatmap":
            expression = heatmap_expression(spec, v)
            fields.append(
                {
                    "DataSetIdentifier": v["dataset"],
                    "Name": calculated_name(v["id"]),
                    "Expression": expression,
                }
            )
    return fields


def _local_datasets(spec: Spec) -> set[str]:
    """Datasets read from the local lake: no QuickSight dataset, so their visuals are left out."""
    return {name for name, d in spec["datasets"].items() if d.get("local_only")}


def _visuals(spec: Spec) -> list[dict[str, Any]]:
    local = _local_datasets(spec)
    return [v for s in spec["sheets"] for v in s["visuals"] if v["dataset"] not in local]


def ignored_filters(spec: Spec, v: dict[str, Any]) -> list[dict[str, Any]]:
    """The filters whose column the visual's dataset lacks: they cannot filter it."""
    columns = spec["datasets"][v["dataset"]]["columns"]
    return [f for f in spec["filters"] if f.get("quicksight_column", f["column"]) not in columns]


def build_visual(spec: Spec, v: dict[str, Any]) -> dict[str, Any]:
    """The visual; one that some filter cannot filter says so in its subtitle (the controls are on every
    sheet, and nothing else would tell a reader that the numbers are not filtered), and so does a visual's
    `note` (what it leaves out, or shows apart: rows without the optional column it is about)."""
    visual = _build_visual(spec, v)
    ignored = ignored_filters(spec, v)
    parts = (
        [f"Not filtered by {', '.join(f['label'] for f in ignored)} (not in this data)"] if ignored else []
    )
    if v.get("note"):
        parts.append(v["note"])
    if parts:
        text = ". ".join(parts)
        next(iter(visual.values()))["Subtitle"] = {"Visibility": "VISIBLE", "FormatText": {"PlainText": text}}
    return visual


def _build_visual(spec: Spec, v: dict[str, Any]) -> dict[str, Any]:
    vid, ds = v["id"], v["dataset"]
    wells: dict[str, Any]
    config: dict[str, Any]
    title = v.get("title") or spec["measures"][v.get("measure", "")]["label"]
    if v["type"] == "kpi":
        wells = {"Values": [_measure(spec, vid, ds, v["measure"])]}
        if v.get("trend"):  # the latest period's value, compared with the period before
            granularity = "QUARTER" if "quarter" in v["trend"] else "MONTH"
            wells["TrendGroups"] = [_dimension(spec, vid, ds, v["trend"], granularity)]
        return {
            "KPIVisual": {
                "VisualId": vid,
                "Title": _title(title),
                "ChartConfiguration": {"FieldWells": wells},
            }
        }
    if v["type"] == "map":
        wells = {
            "Geospatial": [_dimension(spec, vid, ds, v["region"])],
            "Values": [_measure(spec, vid, ds, v["measure"])],
        }
        return {
            "FilledMapVisual": {
                "VisualId": vid,
                "Title": _title(title),
                "ChartConfiguration": {"FieldWells": {"FilledMapAggregatedFieldWells": wells}},
                "GeocodingPreferences": geocoding_preferences(v["map"]),
            }
        }
    if v["type"] in {"bar", "line"}:
        wells = {
            "Category": [_dimension(spec, vid, ds, v["x"], v.get("granularity", "MONTH"))],
            "Values": [_measure(spec, vid, ds, m) for m in v["measures"]],
        }
        colors = None
        if v.get("series"):
            wells["Colors"] = [_dimension(spec, vid, ds, v["series"])]
            colors = palette(spec, v["series"], _field_id(vid, v["series"]))
        elif v.get("x") in spec.get("colors", {}):
            colors = palette(spec, v["x"], _field_id(vid, v["x"]))
        if v["type"] == "line":
            config = {
                "FieldWells": {"LineChartAggregatedFieldWells": wells},
                "PrimaryYAxisDisplayOptions": {"AxisOptions": value_axis_from_zero()},
            }
            if colors:
                config["VisualPalette"] = colors
            return {
                "LineChartVisual": {"VisualId": vid, "Title": _title(title), "ChartConfiguration": config}
            }
        bar = {
            "FieldWells": {"BarChartAggregatedFieldWells": wells},
            "Orientation": "VERTICAL",
            "BarsArrangement": "STACKED" if v.get("stacked") else "CLUSTERED",
            "ValueAxis": value_axis_from_zero(),
        }
        if colors:
            bar["VisualPalette"] = colors
        return {"BarChartVisual": {"VisualId": vid, "Title": _title(title), "ChartConfiguration": bar}}
    if v["type"] == "heatmap":
        value = {
            "NumericalMeasureField": {
                "FieldId": _field_id(vid, "value"),
                "Column": _column(ds, calculated_name(vid)),
                "FormatConfiguration": {
                    "FormatConfiguration": number_format("pct", spec.get("currency", "NGN"))
                },
            }
        }
        wells = {
            "Rows": [_dimension(spec, vid, ds, v["y"])],
            "Columns": [_dimension(spec, vid, ds, v["x"])],
            "Values": [value],
        }
        config = {
            "FieldWells": {"HeatMapAggregatedFieldWells": wells},
            "ColorScale": heatmap_scale(),
            "DataLabels": {"Visibility": "VISIBLE"},
            "Tooltip": n_tooltip(spec, v),
        }
        return {"HeatMapVisual": {"VisualId": vid, "Title": _title(title), "ChartConfiguration": config}}
    if v["type"] == "table":
        currency = spec.get("currency", "NGN")
        values = [
            {"FieldId": _field_id(vid, c), "Column": _column(ds, c)}
            | (
                {
                    "FormatConfiguration": {
                        "NumberFormatConfiguration": {"FormatConfiguration": number_format(f, currency)}
                    }
                }
                if (f := v.get("formats", {}).get(c))
                else {}
            )
            for c in v["columns"]
        ]
        direction = "DESC" if v.get("sort") == "desc" else "ASC"
        config = {
            "FieldWells": {"TableUnaggregatedFieldWells": {"Values": values}},
            "SortConfiguration": {
                "RowSort": [{"FieldSort": {"FieldId": _field_id(vid, v["sort_by"]), "Direction": direction}}]
            },
        }
        return {"TableVisual": {"VisualId": vid, "Title": _title(title), "ChartConfiguration": config}}
    raise QuickSightError(f"visual {vid}: unsupported type {v['type']!r}")


def _parameters(spec: Spec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    declarations: list[dict[str, Any]] = []
    controls: list[dict[str, Any]] = []
    for f in spec["filters"]:
        if f["type"] == "range":
            for end in ("from", "to"):
                name = f"{f['id']}{end.capitalize()}"
                declarations.append(
                    {"DateTimeParameterDeclaration": {"Name": name, "TimeGranularity": "MONTH"}}
                )
                controls.append(
                    {
                        "DateTimePicker": {
                            "ParameterControlId": name,
                            "Title": f"{f['label']} {end}",
                            "SourceParameterName": name,
                        }
                    }
                )
        else:
            declarations.append(
                {"StringParameterDeclaration": {"ParameterValueType": "SINGLE_VALUED", "Name": f["id"]}}
            )
            controls.append(
                {
                    "Dropdown": {
                        "ParameterControlId": f["id"],
                        "Title": f["label"],
                        "SourceParameterName": f["id"],
                        "Type": "SINGLE_SELECT",
                    }
                }
            )
    return declarations, controls


def filter_groups(spec: Spec) -> list[dict[str, Any]]:
    datasets = sorted({v["dataset"] for v in _visuals(spec)})
    sheets = [s["id"] for s in spec["sheets"]]
    scope = {
        "SelectedSheets": {
            "SheetVisualScopingConfigurations": [{"SheetId": s, "Scope": "ALL_VISUALS"} for s in sheets]
        }
    }
    groups = []
    for f in spec["filters"]:
        column = f.get("quicksight_column", f["column"])
        for ds in datasets:
            if column not in spec["datasets"][ds]["columns"]:
                continue
            fid = f"{f['id']}-{ds}".replace("_", "-")
            if f["type"] == "range":
                flt: dict[str, Any] = {
                    "TimeRangeFilter": {
                        "FilterId": fid,
                        "Column": _column(ds, column),
                        "IncludeMinimum": True,
                        "IncludeMaximum": True,
                        "RangeMinimumValue": {"Parameter": f"{f['id']}From"},
                        "RangeMaximumValue": {"Parameter": f"{f['id']}To"},
                        "NullOption": "NON_NULLS_ONLY",
                        "TimeGranularity": "MONTH",
                    }
                }
            else:
                flt = {
                    "CategoryFilter": {
                        "FilterId": fid,
                        "Column": _column(ds, column),
                        "Configuration": {
                            "CustomFilterConfiguration": {
                                "MatchOperator": "EQUALS",
                                "ParameterName": f["id"],
                                "SelectAllOptions": "FILTER_ALL_VALUES",
                                "NullOption": "NON_NULLS_ONLY",
                            }
                        },
                    }
                }
            groups.append(_filter_group(fid, flt, scope))
    return groups


def _filter_group(fid: str, flt: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    return {
        "FilterGroupId": fid,
        "Filters": [flt],
        "ScopeConfiguration": scope,
        "Status": "ENABLED",
        "CrossDataset": "SINGLE_DATASET",
    }


def visual_filter_groups(spec: Spec) -> list[dict[str, Any]]:
    """A visual's own row filters (`where`, `nonnull`, `exclude_zero`): filter groups scoped to it only."""
    local = _local_datasets(spec)
    groups = []
    for sheet in spec["sheets"]:
        for v in sheet["visuals"]:
            if v["dataset"] in local:
                continue
            for flt in visual_filters(spec, v):
                fid = next(iter(flt.values()))["FilterId"]
                scope = {
                    "SelectedSheets": {
                        "SheetVisualScopingConfigurations": [
                            {"SheetId": sheet["id"], "Scope": "SELECTED_VISUALS", "VisualIds": [v["id"]]}
                        ]
                    }
                }
                groups.append(_filter_group(fid, flt, scope))
    return groups


def build_definition(spec: Spec, dataset_arns: Mapping[str, str]) -> dict[str, Any]:
    used = sorted({v["dataset"] for v in _visuals(spec)})
    missing = [ds for ds in used if ds not in dataset_arns]
    if missing:
        raise QuickSightError(f"no QuickSight dataset ARN for {', '.join(missing)}")
    declarations, controls = _parameters(spec)
    local = _local_datasets(spec)
    sheets = []
    for sheet in spec["sheets"]:
        sheet_controls = [
            {k: {**v, "ParameterControlId": f"{sheet['id']}-{v['ParameterControlId']}"}}
            for c in controls
            for k, v in c.items()
        ]
        sheets.append(
            {
                "SheetId": sheet["id"],
                "Name": sheet["title"],
                "Visuals": [build_visual(spec, v) for v in sheet["visuals"] if v["dataset"] not in local],
                "ParameterControls": sheet_controls,
            }
        )
    return {
        "DataSetIdentifierDeclarations": [{"Identifier": ds, "DataSetArn": dataset_arns[ds]} for ds in used],
        "Sheets": sheets,
        "CalculatedFields": calculated_fields(spec),
        "ParameterDeclarations": declarations,
        "FilterGroups": filter_groups(spec) + visual_filter_groups(spec),
    }


def build_create_request(
    spec: Spec,
    *,
    account_id: str,
    dataset_arns: Mapping[str, str],
    dashboard_id: str = DEFAULT_DASHBOARD_ID,
    principal_arn: str | None = None,
    currency: str = "NGN",
    score_baseline: str | None = None,
) -> dict[str, Any]:
    """The CreateDashboard request; `currency` and `score_baseline` are the settings' (money's currency, the
    PSI baseline quarter)."""
    spec = {**with_settings(spec, score_baseline=score_baseline), "currency": currency}
    request: dict[str, Any] = {
        "AwsAccountId": account_id,
        "DashboardId": dashboard_id,
        "Name": spec["title"],
        "Definition": build_definition(spec, dataset_arns),
        "DashboardPublishOptions": {"AdHocFilteringOption": {"AvailabilityStatus": "ENABLED"}},
    }
    if principal_arn:
        request["Permissions"] = [
            {
                "Principal": principal_arn,
                "Actions": [
                    "quicksight:DescribeDashboard",
                    "quicksight:ListDashboardVersions",
                    "quicksight:QueryDashboard",
                    "quicksight:UpdateDashboard",
                    "quicksight:DeleteDashboard",
                    "quicksight:UpdateDashboardPermissions",
                    "quicksight:DescribeDashboardPermissions",
                    "quicksight:UpdateDashboardPublishedVersion",
                ],
            }
        ]
    return request


def deploy_dashboard(
    request: Mapping[str, Any], *, boto3_session: Any = None, region: str | None = None
) -> dict[str, Any]:
    """Create the dashboard, or update it (and publish the new version) when it exists."""
    import boto3

    session = boto3_session or boto3.session.Session()
    client = session.client("quicksight", region_name=region)
    for operation in ("CreateDashboard", "UpdateDashboard"):
        check_request(operation, _for_operation(operation, request))
    ids = {"AwsAccountId": request["AwsAccountId"], "DashboardId": request["DashboardId"]}
    try:
        client.describe_dashboard(**ids)
    except client.exceptions.ResourceNotFoundException:
        response: dict[str, Any] = client.create_dashboard(**request)
        return {"action": "created", "arn": response.get("Arn"), "version_arn": response.get("VersionArn")}
    response = client.update_dashboard(**_for_operation("UpdateDashboard", request))
    version = str(response.get("VersionArn", "")).rsplit("/", 1)[-1]
    if version.isdigit():
        client.update_dashboard_published_version(**ids, VersionNumber=int(version))
    return {"action": "updated", "arn": response.get("Arn"), "version_arn": response.get("VersionArn")}


def _for_operation(operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
    if operation == "UpdateDashboard":
        return {k: v for k, v in request.items() if k != "Permissions"}
    return dict(request)
