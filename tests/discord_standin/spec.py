"""Discord's OpenAPI description, loaded once: route matching and compiled JSON Schema validators.

The spec is OpenAPI 3.1, whose schemas are JSON Schema 2020-12. The whole document is registered
as one resource, so every `#/components/...` reference inside an operation's schema resolves
against it; validators are compiled once per (operation, kind) and cached.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).parent / "data" / "openapi.json"
_SPEC_URI = "urn:discord:openapi"
_REQUEST_URI = "urn:discord:openapi:requests"
_METHODS = ("get", "put", "post", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    """One spec operation matched for a request, with the values of its path parameters."""

    method: str
    template: str
    operation_id: str
    params: dict[str, str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _check_uri(value: object) -> bool:
    # Discord accepts only http(s) and attachment:// URLs in embeds and avatars.
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https", "attachment") and bool(parts.netloc)


def _check_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checks("uri")(_check_uri)
FORMAT_CHECKER.checks("date-time")(_check_datetime)


def _lenient(document: dict[str, Any]) -> dict[str, Any]:
    """The spec as Discord applies it to requests: it parses integer snowflakes too (discord.py
    sends attachment ids as 0, 1, ...), while the spec types every snowflake as a string."""
    schemas = dict(document["components"]["schemas"])
    snowflake = schemas["SnowflakeType"]
    schemas["SnowflakeType"] = {"anyOf": [snowflake, {"type": "integer", "minimum": 0}]}
    return {**document, "components": {**document["components"], "schemas": schemas}}


class Spec:
    """Routes and schemas of the spec; use `load_spec()` to share one instance."""

    def __init__(self, path: Path = SPEC_PATH) -> None:
        self.document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self._registry: Registry = Registry().with_resources(
            [
                (_SPEC_URI, Resource(self.document, DRAFT202012)),
                (_REQUEST_URI, Resource(_lenient(self.document), DRAFT202012)),
            ]
        )
        self._routes: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = []
        for template in self.document["paths"]:
            names = tuple(re.findall(r"{(\w+)}", template))
            pattern = re.escape(template)
            for name in names:
                pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>[^/]+)")
            self._routes.append((re.compile(f"^{pattern}$"), template, names))
        # A literal segment ("@original", "pins") must win over a parameter in the same place.
        self._routes.sort(key=lambda route: len(route[2]))
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    def match(self, method: str, path: str) -> tuple[str | None, Operation | None]:
        """(template, operation); only the template when the path exists but the method does not."""
        for regex, template, _names in self._routes:
            found = regex.match(path)
            if not found:
                continue
            op = self.document["paths"][template].get(method.lower())
            if op is None:
                return template, None
            return template, Operation(
                method.upper(), template, op.get("operationId", ""), found.groupdict()
            )
        return None, None

    def operation(self, op: Operation) -> dict[str, Any]:
        return self.document["paths"][op.template][op.method.lower()]

    def auth_optional(self, op: Operation) -> bool:
        """True for routes that work without a bot token (webhook and interaction tokens)."""
        security = self.operation(op).get("security")
        return security is None or {} in security

    def path_param_validators(self, op: Operation) -> dict[str, jsonschema.protocols.Validator]:
        """Validators for the path parameters: a bot that formats `None` into a URL shows here."""
        found: dict[str, jsonschema.protocols.Validator] = {}
        base = ("paths", op.template)
        where = [(base, self.document["paths"][op.template].get("parameters", []))]
        where.append(((*base, op.method.lower()), self.operation(op).get("parameters", [])))
        for prefix, params in where:
            for index, param in enumerate(params):
                if param.get("in") == "path":
                    ptr = "/" + _pointer(*prefix, "parameters", str(index), "schema")
                    found[param["name"]] = self._validator(ptr)
        return found

    def has_request_body(self, op: Operation) -> bool:
        return "requestBody" in self.operation(op)

    def request_body_required(self, op: Operation) -> bool:
        return bool(self.operation(op).get("requestBody", {}).get("required"))

    def _validator(self, pointer: str, uri: str = _SPEC_URI) -> jsonschema.protocols.Validator:
        validator = self._validators.get(uri + pointer)
        if validator is None:
            validator = jsonschema.Draft202012Validator(
                {"$ref": f"{uri}#{pointer}"},
                registry=self._registry,
                format_checker=FORMAT_CHECKER,
            )
            self._validators[uri + pointer] = validator
        return validator

    def request_validator(
        self, op: Operation, content_type: str = "application/json"
    ) -> jsonschema.protocols.Validator | None:
        content = self.operation(op).get("requestBody", {}).get("content", {})
        if content_type not in content:
            return None
        ptr = "/" + _pointer("paths", op.template, op.method.lower(), "requestBody", "content")
        return self._validator(f"{ptr}/{_pointer(content_type)}/schema", _REQUEST_URI)

    def response_validator(
        self, op: Operation, status: int
    ) -> jsonschema.protocols.Validator | None:
        responses = self.operation(op).get("responses", {})
        response = responses.get(str(status))
        if response is None or "application/json" not in response.get("content", {}):
            return None
        ptr = "/" + _pointer("paths", op.template, op.method.lower(), "responses", str(status))
        return self._validator(f"{ptr}/content/{_pointer('application/json')}/schema")


@cache
def load_spec() -> Spec:
    """Parse the 1 MB spec once per process; every stand-in shares it."""
    return Spec()
