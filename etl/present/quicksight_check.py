"""Offline checks of a QuickSight request against botocore's service model, enum values included."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from etl.errors import EtlError


class QuickSightError(EtlError):
    """The dashboard could not be built or deployed."""


def validation_errors(operation: str, params: Mapping[str, Any]) -> str:
    """botocore's offline check of a request against the QuickSight service model ('' when valid)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("quicksight")
    shape = model.operation_model(operation).input_shape
    if shape is None:  # pragma: no cover - every QuickSight operation has input
        return f"{operation} takes no input"
    report = ParamValidator().validate(dict(params), shape)
    if report.has_errors():
        return str(report.generate_report())
    return "\n".join(_enum_errors(shape, params, operation))


def _enum_errors(shape: Any, value: Any, path: str) -> list[str]:
    """ParamValidator does not check enum values; QuickSight would reject them on the server."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        return [
            e
            for k, v in value.items()
            if k in shape.members
            for e in _enum_errors(shape.members[k], v, f"{path}.{k}")
        ]
    if kind == "list" and isinstance(value, list):
        return [e for i, v in enumerate(value) for e in _enum_errors(shape.member, v, f"{path}[{i}]")]
    if kind == "map" and isinstance(value, Mapping):
        return [e for k, v in value.items() for e in _enum_errors(shape.value, v, f"{path}.{k}")]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} is not one of {', '.join(shape.enum)}"]
    return []


def check_request(operation: str, request: Mapping[str, Any]) -> None:
    """Raise QuickSightError with the first problem botocore's model finds in the request, if any."""
    errors = validation_errors(operation, request)
    if errors:
        raise QuickSightError(f"invalid {operation} request: {errors.splitlines()[0]}")
