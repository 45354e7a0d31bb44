"""The OpenAPI 3.1 description of the JSON API, built from a registry.

:data:`OPERATIONS` describes every route of the ``api`` namespace by its URL name, including
the routes other apps contribute (``api:me``, ``api:caseload``). :func:`document` walks the
URL configuration and joins each route with its entry, so paths and path parameters always
match the real routes; a route without an entry raises :class:`UndocumentedRoute`, which
``tests/measures/test_api.py`` turns into a failing test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from reverie.lib.ids import MAX_ID
from reverie.lib.safejson import MAX_BYTES, MAX_DEPTH, MAX_NUMBER_CHARS

__all__ = ["OPERATIONS", "SCHEMAS", "Operation", "UndocumentedRoute", "api_routes", "document"]


@dataclass(frozen=True)
class Operation:
    """One HTTP method on one route."""

    method: str
    summary: str
    roles: tuple[str, ...]
    #: status -> (description, schema name or None)
    responses: dict[str, tuple[str, str | None]]
    request_schema: str | None = None
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    public: bool = False
    description: str = ""
    tags: tuple[str, ...] = field(default=("measures",))


class UndocumentedRoute(LookupError):
    """A route of the ``api`` namespace has no entry in :data:`OPERATIONS`."""


# A submission refused after its answers were checked (measures.api._refused).
_SUBMIT_REFUSED = (
    'Not stored: the request is closed (title "Questionnaire closed"), or the answers '
    'cannot be stored (title "Not stored"; the detail says why).'
)
_AUTH = {"401": ("No or invalid bearer token.", "Problem")}
_FORBIDDEN = {"403": ("The caller's role may not use this route.", "Problem")}
_NOT_FOUND = {"404": ("No such object, or outside the caller's relationship.", "Problem")}
_ALL_ROLES = frozenset({"admin", "therapist", "client"})

# Answers every route of a kind gives, added by :func:`responses` so that no entry can
# forget one. Each is produced by shared code: ``core.http.api_methods`` (405),
# ``core.http.api_view`` (401, 403), the ``<id:pk>`` converter and ``core.errors`` (404),
# ``core.http.read_json`` through the views' body reader (400, 413, 415), and
# ``core.middleware.TryAgainMiddleware`` (503).
_METHOD = {"405": ("This method is not supported on this route; see `Allow`.", "Problem")}
_PATH_NOT_FOUND = {
    "404": (
        "No such object, or outside the caller's relationship; also an id that is not "
        f"1 to 19 digits up to {MAX_ID}.",
        "Problem",
    )
}
_BODY = {
    "400": (
        f"The body is not one JSON object: malformed, nested deeper than {MAX_DEPTH} levels, "
        f"a number longer than {MAX_NUMBER_CHARS} characters, invalid UTF-8, NaN, or a "
        "string holding U+0000 or a lone surrogate. Nothing changed.",
        "Problem",
    ),
    "413": (f"The body is larger than {MAX_BYTES} bytes. Nothing changed.", "Problem"),
    "415": ("The body is not application/json.", "Problem"),
}

# Any authenticated call is audited, and an audited write can find the chain busy
# (``audit.trail.ChainBusy``, answered by ``core.middleware.TryAgainMiddleware``).
_TRY_AGAIN = {
    "503": (
        "Busy: nothing was stored; send the same request again after `Retry-After` seconds.",
        "Problem",
    )
}

OPERATIONS: dict[str, tuple[Operation, ...]] = {
    "api:me": (
        Operation(
            "get",
            "The signed-in person",
            ("admin", "therapist", "client"),
            {"200": ("Who the token belongs to.", "Me"), **_AUTH},
            tags=("accounts",),
        ),
    ),
    "api:caseload": (
        Operation(
            "get",
            "The therapist's open episodes with their latest PHQ-9 and GAD-7",
            ("therapist",),
            {"200": ("Caseload rows.", "Caseload"), **_AUTH, **_FORBIDDEN},
            tags=("care",),
        ),
    ),
    "api:openapi": (
        Operation(
            "get",
            "This document",
            (),
            {"200": ("The OpenAPI 3.1 description of /api/v1/.", None)},
            public=True,
            tags=("meta",),
        ),
    ),
    "api:instruments": (
        Operation(
            "get",
            "Instruments the caller's practice can use",
            ("admin", "therapist", "client"),
            {"200": ("Instruments with licence and source.", "InstrumentList"), **_AUTH},
        ),
    ),
    "api:instrument": (
        Operation(
            "get",
            "One instrument with its questions, options, bands and crisis items",
            ("admin", "therapist", "client"),
            {"200": ("The instrument.", "Instrument"), **_AUTH, **_NOT_FOUND},
        ),
    ),
    "api:measure_requests": (
        Operation(
            "get",
            "Questionnaires waiting for the signed-in client",
            ("client",),
            {"200": ("Open requests, soonest to close first.", "RequestList"), **_AUTH},
        ),
    ),
    "api:measure_request": (
        Operation(
            "get",
            "One request with its questionnaire and saved draft",
            ("client", "therapist"),
            {"200": ("The request.", "Request"), **_AUTH, **_FORBIDDEN, **_NOT_FOUND},
        ),
    ),
    "api:measure_draft": (
        Operation(
            "post",
            "Save partial answers on the server",
            ("client",),
            {
                "200": ("Saved. `crisis` is set when a crisis item was answered.", "Request"),
                "400": ("An answer is not allowed; `errors` names each item.", "Problem"),
                "409": ("The request is closed.", "Problem"),
                **_AUTH,
                **_NOT_FOUND,
            },
            request_schema="Answers",
        ),
    ),
    "api:measure_submit": (
        Operation(
            "post",
            "Submit the answers (idempotent)",
            ("client",),
            {
                "201": ("Stored and scored. `crisis` carries the crisis text.", "Administration"),
                "200": ("A retry: the administration stored the first time.", "Administration"),
                "400": (
                    "Missing or disallowed answers; `errors` names each item. Nothing stored.",
                    "Problem",
                ),
                "409": (_SUBMIT_REFUSED, "Problem"),
                **_AUTH,
                **_NOT_FOUND,
            },
            request_schema="Answers",
            headers=(("Idempotency-Key", "Makes retries safe; defaults to the draft's key."),),
        ),
    ),
    "api:client_administrations": (
        Operation(
            "get",
            "A client's completed questionnaires, oldest first",
            ("therapist", "client"),
            {"200": ("Administrations.", "AdministrationList"), **_AUTH, **_NOT_FOUND},
            query=(("instrument", "Only this instrument code."),),
        ),
    ),
    "api:administration": (
        Operation(
            "get",
            "One completed questionnaire",
            ("therapist", "client"),
            {"200": ("The administration.", "Administration"), **_AUTH, **_NOT_FOUND},
        ),
    ),
    "api:episode_schedule": (
        Operation(
            "get",
            "The episode's questionnaire schedule",
            ("therapist",),
            {"200": ("The schedule.", "Schedule"), **_AUTH, **_FORBIDDEN, **_NOT_FOUND},
        ),
        Operation(
            "post",
            "Replace the episode's questionnaire schedule",
            ("therapist",),
            {
                "200": ("The saved schedule.", "Schedule"),
                "400": ("Unknown instrument or follow-up month. Nothing changed.", "Problem"),
                **_AUTH,
                **_FORBIDDEN,
                **_NOT_FOUND,
            },
            request_schema="Schedule",
        ),
    ),
}

_INT = {"type": "integer"}
_STR = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_ANSWERS = {
    "type": "object",
    "additionalProperties": {"type": ["integer", "null"]},
    "description": "Raw answer value per question id.",
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "properties": {
            "type": _STR,
            "title": _STR,
            "status": _INT,
            "detail": _STR,
            "errors": {"type": "object", "additionalProperties": _STR},
        },
        "required": ["title", "status"],
    },
    "Me": {
        "type": "object",
        "properties": {"id": _INT, "email": _STR, "name": _STR, "role": _STR, "practice": _STR},
    },
    "Caseload": {
        "type": "object",
        "properties": {"results": {"type": "array", "items": {"type": "object"}}},
    },
    "InstrumentSummary": {
        "type": "object",
        "properties": {
            "code": _STR,
            "name": _STR,
            "short_name": _STR,
            "version": _STR,
            "items": _INT,
            "score_min": {"type": "number"},
            "score_max": {"type": "number"},
            "licence": {"type": "object"},
            "source": _STR,
            "shipped": {"type": "boolean"},
        },
    },
    "InstrumentList": {
        "type": "object",
        "properties": {
            "results": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/InstrumentSummary"},
            }
        },
    },
    "Instrument": {
        "allOf": [
            {"$ref": "#/components/schemas/InstrumentSummary"},
            {
                "type": "object",
                "properties": {
                    "instructions": {"type": ["string", "null"]},
                    "questions": {"type": "array", "items": {"type": "object"}},
                    "bands": {"type": "array", "items": {"type": "object"}},
                    "critical_items": {"type": "array", "items": {"type": "object"}},
                },
            },
        ]
    },
    "Request": {
        "type": "object",
        "properties": {
            "id": _INT,
            "client": _INT,
            "episode": {"type": ["integer", "null"]},
            "instrument": _STR,
            "timepoint": _STR,
            "status": {"enum": ["open", "completed", "expired", "cancelled"]},
            "opens_at": _TIME,
            "expires_at": _TIME,
            "answerable": {"type": "boolean"},
            "draft": {"type": "object"},
            "questionnaire": {"$ref": "#/components/schemas/Instrument"},
            "crisis": {"type": ["object", "null"]},
        },
    },
    "RequestList": {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Request"}}
        },
    },
    "Answers": {
        "type": "object",
        "properties": {"answers": _ANSWERS, "key": _STR},
        "required": ["answers"],
    },
    "Administration": {
        "type": "object",
        "properties": {
            "id": _INT,
            "client": _INT,
            "episode": {"type": ["integer", "null"]},
            "instrument": _STR,
            "completed_at": _TIME,
            "received_at": _TIME,
            "timepoint": _STR,
            "source": {"enum": ["portal", "link", "paper", "fhir", "demo"]},
            "entered_by": {"type": ["integer", "null"]},
            "answers": _ANSWERS,
            "total": _INT,
            "band": _STR,
            "subscales": {"type": "object"},
            "critical_items": {"type": "array", "items": _STR},
            "request": {"type": ["integer", "null"]},
            "crisis": {"type": ["object", "null"]},
        },
    },
    "AdministrationList": {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Administration"}}
        },
    },
    "Schedule": {
        "type": "object",
        "properties": {
            "episode": _INT,
            "schedule": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "instrument": _STR,
                        "before_sessions": {"type": "boolean"},
                        "followup_months": {"type": "array", "items": {"enum": [1, 3, 6, 12]}},
                    },
                    "required": ["instrument"],
                },
            },
        },
        "required": ["schedule"],
    },
}

_CONVERTER = re.compile(r"<(?:(?P<kind>[a-z]+):)?(?P<name>\w+)>")


def api_routes() -> list[tuple[str, str]]:
    """(URL name, OpenAPI path) of every route in the ``api`` namespace."""
    out: list[tuple[str, str]] = []

    def walk(resolver: URLResolver, prefix: str, namespace: str | None) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, prefix + str(entry.pattern), entry.namespace or namespace)
            elif isinstance(entry, URLPattern) and entry.name and namespace == "api":
                route = _CONVERTER.sub(r"{\g<name>}", prefix + str(entry.pattern))
                out.append((f"api:{entry.name}", "/" + route))

    walk(get_resolver(), "", None)
    return out


def responses(path: str, op: Operation) -> dict[str, tuple[str, str | None]]:
    """Every answer ``op`` on ``path`` gives: its own, then those shared code gives it."""
    shared: dict[str, tuple[str, str | None]] = {**_METHOD}
    if not op.public:
        shared.update(_AUTH)
        shared.update(_TRY_AGAIN)
        if op.roles and set(op.roles) != _ALL_ROLES:
            shared.update(_FORBIDDEN)
    if "{" in path:
        shared.update(_PATH_NOT_FOUND)
    if op.request_schema:
        shared.update(_BODY)
    out = {**op.responses}
    for status, (description, schema) in shared.items():
        if status in out:  # the route's own words first, then the shared case
            out[status] = (f"{out[status][0]} Or: {description}", out[status][1])
        else:
            out[status] = (description, schema)
    return dict(sorted(out.items()))


_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_CODE_SCHEMA = {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}  # Django's slug converter


def _parameters(path: str, op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _CODE_SCHEMA if name == "code" else _ID_SCHEMA,
        }
        for name in re.findall(r"{(\w+)}", path)
    ]
    params += [
        {"name": name, "in": "query", "required": False, "description": d, "schema": _STR}
        for name, d in op.query
    ]
    params += [
        {"name": name, "in": "header", "required": False, "description": d, "schema": _STR}
        for name, d in op.headers
    ]
    return params


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document. Raises :class:`UndocumentedRoute` for a route without an
    entry, so an undocumented route cannot ship."""
    paths: dict[str, Any] = {}
    for name, path in api_routes():
        operations = OPERATIONS.get(name)
        if not operations:
            raise UndocumentedRoute(f"{name} ({path}) has no entry in measures.openapi.OPERATIONS")
        item: dict[str, Any] = {}
        for op in operations:
            spec: dict[str, Any] = {
                "operationId": name.split(":", 1)[1]
                + ("" if op.method == "get" else f"_{op.method}"),
                "summary": op.summary,
                "tags": list(op.tags),
                "responses": {
                    status: (
                        {
                            "description": description,
                            "content": {
                                (
                                    "application/problem+json"
                                    if schema == "Problem"
                                    else "application/json"
                                ): {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                            },
                        }
                        if schema
                        else {"description": description}
                    )
                    for status, (description, schema) in responses(path, op).items()
                },
            }
            if op.roles:
                spec["description"] = (
                    op.description + " " if op.description else ""
                ) + f"Roles: {', '.join(op.roles)}."
            if op.public:
                spec["security"] = []
            parameters = _parameters(path, op)
            if parameters:
                spec["parameters"] = parameters
            if op.request_schema:
                spec["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{op.request_schema}"}
                        }
                    },
                }
            item[op.method] = spec
        paths[path] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Reverie JSON API",
            "version": "1",
            "description": (
                "JSON API for the client portal and the clinical UI. Authenticate with "
                "'Authorization: Bearer <token>' (tokens from `reverie token create`); GET "
                "routes also accept the browser session. Errors are RFC 9457 problem "
                "documents. Objects outside the caller's relationship answer 404."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }
