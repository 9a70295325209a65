"""How the QuickSight renderer formats what the spec draws: money with its currency and thousands
separators, percentages, whole counts, value axes from 0, one fixed colour per category value, the heatmap's
colour scale from 0 with grey for too few loans, the filled map's geocoding of Nigerian states, and the
visual-scoped filters (top-N tables without zero or blank rows, KPIs of the latest period with a value)."""

from __future__ import annotations

from typing import Any

from etl.present.spec import Spec, load_map

GREY = "#D9DDE1"


def number_format(fmt: str, currency: str) -> dict[str, Any]:
    """A NumericFormatConfiguration for a measure format of the spec (money, pct, int, ratio)."""
    separators = {
        "ThousandsSeparator": {"Symbol": "COMMA", "Visibility": "VISIBLE"},
        "DecimalSeparator": "DOT",
    }
    if fmt == "money":
        return {
            "CurrencyDisplayFormatConfiguration": {
                "Symbol": currency,
                "NumberScale": "NONE",
                "SeparatorConfiguration": separators,
                "DecimalPlacesConfiguration": {"DecimalPlaces": 2},
            }
        }
    if fmt == "pct":
        return {"PercentageDisplayFormatConfiguration": {"DecimalPlacesConfiguration": {"DecimalPlaces": 1}}}
    places = 0 if fmt == "int" else 4
    return {
        "NumberDisplayFormatConfiguration": {
            "NumberScale": "NONE",
            "SeparatorConfiguration": separators,
            "DecimalPlacesConfiguration": {"DecimalPlaces": places},
        }
    }


def value_axis_from_zero() -> dict[str, Any]:
    """AxisDisplayOptions whose numeric range starts at 0 (counts and rates are never cut off at the bottom)."""
    return {"DataOptions": {"NumericAxisOptions": {"Range": {"MinMax": {"Minimum": 0}}}}}


def palette(spec: Spec, column: str, field_id: str) -> dict[str, Any] | None:
    """A VisualPalette giving every known value of `column` its fixed colour (spec `colors`)."""
    colors = spec.get("colors", {}).get(column)
    if not colors:
        return None
    return {
        "ColorMap": [
            {"Element": {"FieldId": field_id, "FieldValue": str(value)}, "Color": color.upper()}
            for value, color in colors.items()
        ]
    }


def heatmap_scale() -> dict[str, Any]:
    """White at 0, dark red at the largest value, grey where the value is null (too few loans)."""
    return {
        "Colors": [{"Color": "#FFF5F0", "DataValue": 0}, {"Color": "#A50F15"}],
        "ColorFillType": "GRADIENT",
        "NullValueColor": {"Color": GREY},
    }


def heatmap_expression(spec: Spec, v: dict[str, Any]) -> str:
    """The heatmap's value: the measure (or each cell's share of its row), null under the minimum n."""
    m = spec["measures"][v["measure"]]
    num = " + ".join(f"sum({{{c}}})" for c in m["num"])
    value = num if "den" not in m else f"({num}) / ({' + '.join(f'sum({{{c}}})' for c in m['den'])})"
    if v.get("normalize") == "row":
        value = f"percentOfTotal({num}, [{{{v['y']}}}])"
    n = v.get("n_measure")
    if n and v.get("min_n"):
        count = " + ".join(f"sum({{{c}}})" for c in spec["measures"][n]["num"])
        value = f"ifelse(({count}) < {int(v['min_n'])}, NULL, {value})"
    return value


def n_tooltip(spec: Spec, v: dict[str, Any]) -> dict[str, Any]:
    """The tooltip shows the cell's value and its n (the sum of the n measure's column)."""
    items: list[dict[str, Any]] = [
        {"FieldTooltipItem": {"FieldId": f"{v['id']}.{v['y']}", "Visibility": "VISIBLE"}},
        {"FieldTooltipItem": {"FieldId": f"{v['id']}.{v['x']}", "Visibility": "VISIBLE"}},
        {"FieldTooltipItem": {"FieldId": f"{v['id']}.value", "Visibility": "VISIBLE"}},
    ]
    n = v.get("n_measure")
    if n:
        column = spec["measures"][n]["num"][0]
        items.append(
            {
                "ColumnTooltipItem": {
                    "Column": {"DataSetIdentifier": v["dataset"], "ColumnName": column},
                    "Label": "n",
                    "Visibility": "VISIBLE",
                    "Aggregation": {"NumericalAggregationFunction": {"SimpleNumericalAggregation": "SUM"}},
                }
            }
        )
    return {
        "TooltipVisibility": "VISIBLE",
        "SelectedTooltipType": "DETAILED",
        "FieldBasedTooltip": {"AggregationVisibility": "HIDDEN", "TooltipFields": items},
    }


def geocoding_preferences(map_name: str) -> list[dict[str, Any]]:
    """Each state name the data may hold (the map's names and aliases), placed in Nigeria under its map name,
    so QuickSight's geocoder is not left to guess a bare state name's country."""
    geo = load_map(map_name)
    names = {loc["id"]: loc["name"] for loc in geo["locations"]}
    spelled = {name: name for name in names.values()}
    spelled.update({alias: names[target] for alias, target in geo["aliases"].items()})
    return [
        {
            "RequestKey": {"State": value},
            "Preference": {"GeocoderHierarchy": {"Country": "Nigeria", "State": state}},
        }
        for value, state in sorted(spelled.items())
    ]


def visual_filters(spec: Spec, v: dict[str, Any]) -> list[dict[str, Any]]:
    """The filters a visual applies to its own rows: `where` (a value list, or a number for an INTEGER
    column), `nonnull` (a KPI of the latest period with a value) and `exclude_zero` (a top-N table)."""
    columns = spec["datasets"][v["dataset"]]["columns"]
    out: list[dict[str, Any]] = []
    base = v["id"].replace("_", "-")
    for column, values in sorted(v.get("where", {}).items()):
        fid = f"where-{base}-{column}".replace("_", "-")
        ref = {"DataSetIdentifier": v["dataset"], "ColumnName": column}
        listed = [values] if isinstance(values, str | int) else list(values)
        if columns.get(column) == "INTEGER":
            out.append(
                {
                    "NumericEqualityFilter": {
                        "FilterId": fid,
                        "Column": ref,
                        "Value": float(listed[0]),
                        "MatchOperator": "EQUALS",
                        "NullOption": "NON_NULLS_ONLY",
                    }
                }
            )
        else:
            out.append(
                {
                    "CategoryFilter": {
                        "FilterId": fid,
                        "Column": ref,
                        "Configuration": {
                            "FilterListConfiguration": {
                                "MatchOperator": "CONTAINS",
                                "CategoryValues": [str(x) for x in listed],
                                "NullOption": "NON_NULLS_ONLY",
                            }
                        },
                    }
                }
            )
    kept = [(c, "nonnull") for c in v.get("nonnull", [])]
    if v.get("exclude_zero"):
        kept.append((v["sort_by"], "positive"))
    for column, rule in kept:
        flt: dict[str, Any] = {
            "FilterId": f"{rule}-{base}-{column}".replace("_", "-"),
            "Column": {"DataSetIdentifier": v["dataset"], "ColumnName": column},
            "IncludeMinimum": rule == "nonnull",
            "IncludeMaximum": True,
            "NullOption": "NON_NULLS_ONLY",
        }
        if rule == "positive":  # more than 0: a top-N table has no zero or blank rows
            flt["RangeMinimum"] = {"StaticValue": 0}
        else:  # any value: only the nulls go
            flt["RangeMinimum"] = {"StaticValue": -1e15}
        out.append({"NumericRangeFilter": flt})
    return out
