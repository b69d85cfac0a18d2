"""OpenAPI generation (drf-spectacular) for the project's API conventions.

STYLE.md has each API view declare its own nested `InputSerializer` / `OutputSerializer`. Left
alone, drf-spectacular names every one of them "Input" / "Output" and the components overwrite
each other. Nested serializers are named after the class that holds them instead:
`MemberRevealApi.InputSerializer` -> `MemberRevealInput`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema


class PortalAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: str) -> str:
        cls = serializer if isinstance(serializer, type) else serializer.__class__
        parts = cls.__qualname__.split(".")
        if len(parts) > 1 and "<locals>" not in parts:
            owner = parts[-2].removesuffix("Api").removesuffix("View")
            return owner + parts[-1]
        return super().get_serializer_name(serializer, direction)
