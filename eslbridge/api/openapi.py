"""OpenAPI 3.1 document generated from the route registry and the pydantic request models."""

from __future__ import annotations

import re
from typing import Any

from .web import Registry

ENVELOPE = {
    "type": "object",
    "required": ["code", "status", "message", "data"],
    "properties": {
        "code": {"type": "integer"},
        "status": {"type": "string", "enum": ["ok", "error"]},
        "message": {"type": "string"},
        "data": {},
    },
}
SEED_001 = {
    "type": "object",
    "required": ["code", "message", "data"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "data": {"type": "boolean"}},
}


def document(api: Registry, title: str = "eslbridge task API", version: str = "1") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Envelope": ENVELOPE, "EditResult": SEED_001}
    for r in api.routes:
        op: dict[str, Any] = {
            "summary": r.summary,
            "operationId": f"{r.method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', r.path).strip('_')}",
            "security": [{"appId": [], "timestamp": [], "sign": []}],
            "parameters": [],
            "responses": {},
        }
        for name in re.findall(r"{(\w+)}", r.path):
            op["parameters"].append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
        for name, desc in r.query.items():
            kind = "string" if name == "name" else "integer"
            op["parameters"].append({"name": name, "in": "query", "required": False, "description": desc, "schema": {"type": kind}})
        if r.body is not None:
            schema = r.body.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            schemas[r.body.__name__] = schema
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{r.body.__name__}"}}}}
        elif r.content == "text/csv":
            op["requestBody"] = {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
        ref = "#/components/schemas/EditResult" if r.path.startswith("/speech/") else "#/components/schemas/Envelope"
        ok = {"description": "success", "content": {"application/json": {"schema": {"$ref": ref}}}}
        err = {"description": "error envelope naming the field", "content": {"application/json": {"schema": {"$ref": ref}}}}
        op["responses"] = {"200": ok, "400": err, "401": err, "404": err, "409": err, "413": err}
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Every request is signed: headers appId, timestamp (ms) and sign = base64 RSA-SHA256 over "
                                "appId\\ntimestamp\\nMETHOD\\npath_with_query\\nhex(sha256(body))."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "appId": {"type": "apiKey", "in": "header", "name": "appId"},
                "timestamp": {"type": "apiKey", "in": "header", "name": "timestamp"},
                "sign": {"type": "apiKey", "in": "header", "name": "sign"},
            },
        },
    }


DOCS_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>eslbridge API</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee;padding:0 .2em}
h2{border-bottom:1px solid #ccc}td,th{text-align:left;padding:.2em .6em;vertical-align:top}</style></head><body>
<h1>eslbridge task API</h1><p>The machine-readable description is <a href="/openapi.json">/openapi.json</a>.
Every request carries <code>appId</code>, <code>timestamp</code> (ms since the epoch) and <code>sign</code>:
base64 of the RSASSA-PKCS1-v1_5 SHA-256 signature of
<code>appId + "\\n" + timestamp + "\\n" + METHOD + "\\n" + path_with_query + "\\n" + hex(sha256(body))</code>.</p>
<table><tr><th>method</th><th>path</th><th>what</th></tr>{rows}</table></body></html>"""


def docs_html(api: Registry) -> str:
    import html

    rows = "".join(
        f"<tr><td>{r.method}</td><td><code>{html.escape(r.path)}</code></td><td>{html.escape(r.summary)}</td></tr>" for r in api.routes
    )
    return DOCS_HTML.replace("{rows}", rows)
