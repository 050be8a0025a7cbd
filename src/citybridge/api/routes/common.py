"""Helpers shared by the API routers."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from citybridge.api.errors import ErrorOut
from citybridge.errors import Invalid
from citybridge.model.entities import KIND_MODELS, Kind, Record, record_from_dict

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,255}$"


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer with."""
    text = {400: "Bad request", 401: "Missing or unknown token", 403: "The token may not do this",
            404: "Not found (or not visible to the caller)", 409: "Conflict with what is stored",
            413: "Upload too large", 422: "Invalid input (the field is named)", 503: "Unavailable here"}
    return {s: {"model": ErrorOut, "description": text.get(s, "Error")} for s in statuses}


def validation_invalid(exc: ValidationError | ValueError, prefix: str = "") -> Invalid:
    """A pydantic/value error as one Invalid naming the first field at fault."""
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err.get("loc", ())) or None
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        full = f"{prefix}{field}" if field else None
        return Invalid(f"{full}: {msg}" if full else msg, field=full)
    return Invalid(str(exc), field="kind" if "kind" in str(exc) else None)


def parse_record(body: Any) -> Record:
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object with a 'kind'", field="kind")
    try:
        return record_from_dict(body)
    except (ValidationError, ValueError) as exc:
        raise validation_invalid(exc) from None


def subtypes(kind: str | None) -> set[str]:
    """Valid subtype values of a kind (of every kind when None)."""
    models = [KIND_MODELS[Kind(kind)]] if kind else list(KIND_MODELS.values())
    out: set[str] = set()
    for model in models:
        if model.subtype_field:
            enum = model.model_fields[model.subtype_field].annotation
            out |= {m.value for m in enum}  # type: ignore[union-attr]
    return out
