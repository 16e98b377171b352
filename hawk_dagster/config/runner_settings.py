"""The ``runner:`` settings both configs share: secrets, plain environment, and the run pod's resources and image."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    WithJsonSchema,
)

from hawk_dagster.config.fields import (
    EnvVarName,
    SecretRef,
    StrictModel,
    custom_error,
)

# Kubernetes resource quantities (apimachinery's grammar, without the sign).
_QUANTITY_RE = re.compile(r"^(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_CPU_RE = re.compile(r"^(\d+(\.\d*)?|\.\d+)m?$")
_IMAGE_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_UNIT_HINTS = {
    "kb": "Ki",
    "kib": "Ki",
    "mb": "Mi",
    "mib": "Mi",
    "gb": "Gi",
    "gib": "Gi",
    "tb": "Ti",
    "tib": "Ti",
    "pb": "Pi",
    "pib": "Pi",
    "ki": "Ki",
    "mi": "Mi",
    "gi": "Gi",
    "ti": "Ti",
    "g": "Gi",
    "t": "Ti",
}


def _quantity_text(value: Any) -> str:
    """Accept ``cpu: 2`` as well as ``cpu: "2"``; booleans and structures are mistakes."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise custom_error(
            "quantity", "must be a Kubernetes quantity written as text or a number, e.g. 16Gi or 2"
        )
    return str(value).strip()


def _check_memory(value: str) -> str:
    match = _QUANTITY_RE.match(value)
    if not match:
        written = re.match(r"^(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]+)$", value)
        if written and written.group(2).lower() in _UNIT_HINTS:
            unit = _UNIT_HINTS[written.group(2).lower()]
            raise custom_error(
                "quantity",
                f"memory must be a Kubernetes quantity: use {unit!r} not {written.group(2)!r} "
                f"(e.g. '{written.group(1)}{unit}')",
            )
        raise custom_error("quantity", "memory must be a Kubernetes quantity such as 16Gi, 512Mi or 4G")
    if float(match.group(1)) <= 0:
        raise custom_error("quantity", "memory must be greater than zero")
    if match.group(3) == "m":
        raise custom_error(
            "quantity",
            f"memory {value!r} means {match.group(1)} thousandths of a byte ('m' is milli); "
            f"use 'Mi' (e.g. '{match.group(1)}Mi')",
        )
    return value


def _check_cpu(value: str) -> str:
    if not _CPU_RE.match(value):
        raise custom_error("cpu", "cpu must be a number of CPUs such as 2, 0.5 or 500m (milli-CPUs)")
    if float(value.removesuffix("m")) <= 0:
        raise custom_error("cpu", "cpu must be greater than zero")
    return value


def _check_image_tag(value: str) -> str:
    if not _IMAGE_TAG_RE.match(value):
        raise custom_error(
            "image_tag",
            "must be a container image tag: letters, digits, '_', '.' and '-', at most 128 characters",
        )
    return value


Quantity = Annotated[
    str,
    BeforeValidator(_quantity_text),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number", "exclusiveMinimum": 0}]}),
]


class RunnerConfig(StrictModel):
    """How and where the run executes: secrets, plain environment, and pod resources on Kubernetes."""

    secrets: list[SecretRef] = Field(
        default_factory=list,
        description=(
            "Environment variables the run needs (values passed with --secret/--secrets-file at submission); the run "
            "refuses to start when one is missing."
        ),
    )
    environment: dict[EnvVarName, str] = Field(
        default_factory=dict,
        description="Plain, non-secret environment variables for the run (stored with the config; quote numbers).",
    )
    image_tag: Annotated[str, AfterValidator(_check_image_tag)] | None = Field(
        default=None, description="Runner image tag to use on Kubernetes instead of the deployment's default."
    )
    cpu: Annotated[Quantity, AfterValidator(_check_cpu)] | None = Field(
        default=None, description="CPU request for the run's pod on Kubernetes, e.g. 2, 0.5 or 500m."
    )
    memory: Annotated[Quantity, AfterValidator(_check_memory)] | None = Field(
        default=None,
        description="Memory for the run's pod on Kubernetes (its request and limit) as a Kubernetes quantity, "
        "e.g. 16Gi or 512Mi.",
    )
