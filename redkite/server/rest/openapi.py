"""The OpenAPI 3 document of the REST API, built from the routes' request-body schemas."""

from __future__ import annotations

from typing import Iterable

from .framework import Route

ERROR = {"type": "object", "required": ["code"],
         "properties": {"code": {"type": "integer"}, "message": {"type": "string"}}}
ENVELOPE = {"type": "object", "required": ["code"],
            "properties": {"code": {"type": "integer"}, "data": {},
                           "message": {"type": "string"}, "cost": {"type": "integer"},
                           "topks": {"type": "array", "items": {"type": "integer"}}}}
HEADERS = [
    {"name": "DB-Name", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "database used when the body has no dbName (default: default)"},
    {"name": "Request-Timeout", "in": "header", "required": False,
     "schema": {"type": "integer", "minimum": 1},
     "description": "seconds before the call answers HTTP 408, code 10001"},
    {"name": "Accept-Type-Allow-Int64", "in": "header", "required": False,
     "schema": {"type": "string", "enum": ["true", "false"]},
     "description": "false: Int64 values are returned as decimal strings"},
]


def _operation(route: Route) -> dict:
    name = route.path.removeprefix("/v2/vectordb/")
    return {
        "operationId": name.replace("/", "_"),
        "summary": route.summary or name,
        "tags": [name.split("/", 1)[0]],
        "parameters": HEADERS,
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": route.schema}}},
        "responses": {
            "200": {"description": "code 0 and data, or a Milvus error code and message",
                    "content": {"application/json": {"schema": ENVELOPE}}},
            "401": {"description": "authentication required (code 1800)",
                    "content": {"application/json": {"schema": ERROR}}},
            "403": {"description": "privilege denied",
                    "content": {"application/json": {"schema": ERROR}}},
            "408": {"description": "Request-Timeout expired (code 10001)",
                    "content": {"application/json": {"schema": ERROR}}},
            "413": {"description": "body larger than the server's limit (code 1102)",
                    "content": {"application/json": {"schema": ERROR}}},
        },
    }


def openapi_document(routes: Iterable[Route]) -> dict:
    """An OpenAPI 3.0 document with one POST operation per route, sorted by path."""
    paths = {route.path: {"post": _operation(route)}
             for route in sorted(routes, key=lambda r: r.path)}
    return {
        "openapi": "3.0.3",
        "info": {"title": "redkite: Milvus RESTful API v2", "version": "2.6",
                 "description": "Every route is POST with a JSON body; errors are HTTP 200 "
                                "with a non-zero Milvus code unless stated."},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "token user:password (redkite serve --auth)"},
            "basic": {"type": "http", "scheme": "basic"}}},
        "security": [{}, {"bearer": []}, {"basic": []}],
        "paths": paths,
    }


def docs_page(document: dict) -> str:
    """A self-contained HTML page of the document's routes (no scripts, no external
    assets: it works offline): each route's summary and request-body schema, by family."""
    import html
    import json

    families: dict[str, list[str]] = {}
    for path, item in sorted(document.get("paths", {}).items()):
        operation = item.get("post", {})
        schema = (operation.get("requestBody", {}).get("content", {})
                  .get("application/json", {}).get("schema", {}))
        family = path.removeprefix("/v2/vectordb/").split("/", 1)[0]
        families.setdefault(family, []).append(
            f"<details><summary><code>POST {html.escape(path)}</code> — "
            f"{html.escape(operation.get('summary', ''))}</summary>"
            f"<pre>{html.escape(json.dumps(schema, indent=2))}</pre></details>")
    sections = "".join(f"<h2>{html.escape(name)}</h2>{''.join(entries)}"
                       for name, entries in families.items())
    title = html.escape(document.get("info", {}).get("title", "REST API"))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
            "pre{background:#f4f4f4;padding:.5em}</style></head><body>"
            f"<h1>{title}</h1><p>Every route is a POST with a JSON body; replies are "
            "<code>{\"code\": 0, \"data\": ...}</code> or <code>{\"code\": N, \"message\": "
            "...}</code>. Machine-readable: <a href='openapi.json'>openapi.json</a>.</p>"
            f"{sections}</body></html>")
