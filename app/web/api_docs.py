"""``/api/v1/docs``: the API's reference, drawn on the server from its own OpenAPI document
(every endpoint, its parameters, body schema, responses and a curl example). No script and
nothing from other sites (Swagger UI would load its code from a CDN); the document itself is
at ``/api/v1/openapi.json`` for tools that read OpenAPI. Served whatever
``BICHAT_API_DOCS`` says: it describes the API alone, not the app's other routes."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from app.web.markdown import render_markdown

TEMPLATES_DIR = Path(__file__).parent / "templates"

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["markdown"] = render_markdown


@dataclass
class Parameter:
    name: str
    location: str
    type: str
    required: bool
    description: str


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    parameters: list[Parameter] = field(default_factory=list)
    body: str | None = None
    responses: list[tuple[str, str]] = field(default_factory=list)
    curl: str = ""

    @property
    def anchor(self) -> str:
        cleaned = "".join(c if c.isalnum() else "-" for c in self.path.strip("/"))
        return f"{self.method.lower()}-{cleaned}"


def type_of(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(type_of(s) for s in schema["anyOf"] if s.get("type") != "null")
    if "enum" in schema:
        return " | ".join(map(str, schema["enum"]))
    return str(schema.get("type", "object"))


def curl_for(method: str, path: str, base: str, body: bool) -> str:
    line = f"curl -H 'Authorization: Bearer $BICHAT_TOKEN' {shlex.quote(base + path)}"
    if method == "POST":
        line = f"curl -X POST -H 'Authorization: Bearer $BICHAT_TOKEN' {shlex.quote(base + path)}"
        if body:
            line += " -H 'Content-Type: application/json' -d '{...}'"
    return line


def operations(doc: dict[str, Any], base: str) -> list[Operation]:
    found = []
    for path, methods in doc.get("paths", {}).items():
        for method, spec in methods.items():
            body = spec.get("requestBody", {}).get("content", {}).get("application/json")
            schema = resolved(body["schema"], doc) if body else None
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=spec.get("summary", ""),
                    description=spec.get("description", ""),
                    parameters=[
                        Parameter(
                            p["name"],
                            p["in"],
                            type_of(p.get("schema", {})),
                            bool(p.get("required")),
                            p.get("description") or p.get("schema", {}).get("description", ""),
                        )
                        for p in spec.get("parameters", [])
                    ],
                    body=json.dumps(schema, indent=2) if schema else None,
                    responses=[(s, r.get("description", "")) for s, r in spec["responses"].items()],
                    curl=curl_for(method.upper(), path, base, schema is not None),
                )
            )
    return found


def resolved(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """A body schema with its ``$ref`` to the document's components followed once."""
    reference = schema.get("$ref", "")
    if reference.startswith("#/components/schemas/"):
        name = reference.rsplit("/", 1)[-1]
        return dict(doc["components"]["schemas"][name])
    return schema


def install(api: FastAPI, *, prefix: str) -> None:
    @api.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    async def docs(request: Request) -> Response:
        doc = api.openapi()
        base = str(request.base_url).rstrip("/")
        response = templates.TemplateResponse(
            request,
            "api/docs.html",
            {
                "doc": doc,
                "prefix": prefix,
                "base": base,
                "operations": operations(doc, base),
            },
        )
        response.headers["Content-Security-Policy"] = CSP
        return response
