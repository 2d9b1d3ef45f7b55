"""Framework glue: route registry (also the OpenAPI source), envelope, errors, JSON, auth middleware.

Falcon is the WSGI framework (small, fast, well kept); gevent's WSGI server
or gunicorn's gevent worker serves it.
"""

from __future__ import annotations

import json
import logging
import time as _time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import falcon
import orjson
import psycopg
import psycopg.errors
from pydantic import BaseModel, ValidationError

from ..store import apps
from ..store.db import Database
from . import auth
from .models import validation_message
from .replay import ReplayGuard

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024 * 1024  # bytes; 100,000 numbers as JSON are ~3 MB
STREAMED = ("/numbers/csv", "/entries/csv")  # bodies read by the handler itself
PUBLIC = ("/openapi.json", "/docs", "/metrics", "/healthz", "/readyz")
UI = "/ui"  # the wallboard: public files, and figures behind a bearer token of its own
OPEN_API_EDIT = "/speech/openapi/v1/task/outbound/edit"
APP_CACHE_S = 2.0  # seconds an app's key and tenant are cached


class ApiError(Exception):
    def __init__(self, http: int, code: int, message: str) -> None:
        super().__init__(message)
        self.http = http
        self.code = code
        self.message = message


def bad(message: str) -> ApiError:
    return ApiError(400, 400, message)


def not_found(what: str) -> ApiError:
    return ApiError(404, 404, f"{what} not found")


def conflict(message: str) -> ApiError:
    return ApiError(409, 409, message)


def encode(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, time):
        return obj.strftime("%H:%M:%S")
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, memoryview | bytes):
        return None
    raise TypeError(f"cannot encode {type(obj).__name__}")


def dumps(obj: Any) -> bytes:
    # Dates and times go through encode() so their text stays the seed's, not orjson's.
    return orjson.dumps(obj, default=encode, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS)


def ok(resp: falcon.Response, data: Any, message: str = "ok", beside: dict[str, Any] | None = None) -> None:
    """The envelope; ``beside``: keys next to ``data`` (a list's paging figures)."""
    resp.content_type = "application/json"
    resp.data = dumps({"code": 200, "status": "ok", "message": message, "data": data, **(beside or {})})


def parse(model: type[BaseModel], req: falcon.Request) -> Any:
    body = req.context.body
    if not body:
        raise bad("body: a JSON object is required")
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad("body: not valid JSON") from None
    if not isinstance(raw, dict):
        raise bad("body: must be a JSON object")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise bad(validation_message(exc)) from None


def query_int(req: falcon.Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = req.get_param(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(f"{name}: must be an integer") from None
    if not lo <= value <= hi:
        raise bad(f"{name}: must be between {lo} and {hi}")
    return value


def path_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(what) from None  # a malformed id is as unknown as a missing one


def path_int(value: str, what: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise not_found(what)
    return int(value)


@dataclass
class Route:
    method: str
    path: str
    handler: Callable[..., None]
    summary: str
    body: type[BaseModel] | None = None
    query: dict[str, str] = field(default_factory=dict)  # name → description
    content: str = "application/json"


class Registry:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, path: str, summary: str, body: type[BaseModel] | None = None,
            query: dict[str, str] | None = None, content: str = "application/json") -> Callable[[Callable[..., None]], Callable[..., None]]:
        def deco(fn: Callable[..., None]) -> Callable[..., None]:
            self.routes.append(Route(method, path, fn, summary, body, query or {}, content))
            return fn

        return deco


class Resource:
    """One falcon resource per path; dispatches each method to its registered handler."""

    def __init__(self, handlers: dict[str, Callable[..., None]]) -> None:
        for method, fn in handlers.items():
            setattr(self, f"on_{method.lower()}", self._wrap(fn))

    @staticmethod
    def _wrap(fn: Callable[..., None]) -> Callable[..., None]:
        def responder(req: falcon.Request, resp: falcon.Response, **params: str) -> None:
            fn(req, resp, **params)

        return responder


class AuthMiddleware:
    """Reads the body (bounded), checks appId/timestamp/sign, sets ``req.context.user``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.replays = ReplayGuard(db, auth.WINDOW_S)
        self._keys: dict[tuple[str, str], Any] = {}
        self._apps: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.body = b""
        req.context.user = None
        if req.path in PUBLIC or req.path == UI or req.path.startswith(UI + "/"):
            return
        if req.path.endswith(STREAMED):
            # Everything but the body hash now; the handler calls verify_body() at the end.
            verify = self.authenticate(req)
            req.context.verify_body = verify
            return
        length = req.content_length or 0
        if length > MAX_BODY:
            raise ApiError(413, 413, f"body larger than {MAX_BODY} bytes")
        req.context.body = req.bounded_stream.read(MAX_BODY + 1) if length or req.method in ("POST", "PUT") else b""
        if len(req.context.body) > MAX_BODY:
            raise ApiError(413, 413, f"body larger than {MAX_BODY} bytes")
        verify = self.authenticate(req)
        verify(auth.canonical_body_hash_of(req.context.body))

    def path_with_query(self, req: falcon.Request) -> str:
        return req.path + (("?" + req.query_string) if req.query_string else "")

    def authenticate(self, req: falcon.Request) -> Callable[[str], None]:
        """Check app, key and timestamp; return the check of the signature over a body hash."""
        app_id = req.get_header("appId") or ""
        timestamp = req.get_header("timestamp") or ""
        sign = req.get_header("sign") or ""
        if not (app_id and timestamp and sign):
            raise ApiError(401, 10001, "authentication failed: appId, timestamp and sign headers are required")
        try:
            auth.check_timestamp(timestamp)
            row = self._app(app_id)
            if row is None:
                raise auth.AuthFailed("unknown appId")
            if not row["public_key"]:
                raise auth.AuthFailed("no public key uploaded for this app", no_key=True)
            key = self._key(app_id, row["public_key"])
        except auth.AuthFailed as exc:
            raise ApiError(401, 10002 if exc.no_key else 10001, f"authentication failed: {exc}") from None
        req.context.user = row["user_id"]
        req.context.app_id = app_id
        path = self.path_with_query(req)

        def verify(body_hash: str) -> None:
            try:
                auth.verify(key, sign, auth.canonical_with_hash(app_id, timestamp, req.method, path, body_hash))
                if not self.replays.first_use(sign):
                    raise auth.AuthFailed("this signature was already used")
            except auth.AuthFailed as exc:
                raise ApiError(401, 10001, f"authentication failed: {exc}") from None

        return verify

    def _app(self, app_id: str) -> dict[str, Any] | None:
        """App row, cached for APP_CACHE_S: a key upload takes effect within that."""
        now = _time.monotonic()
        hit = self._apps.get(app_id)
        if hit is not None and now - hit[0] < APP_CACHE_S:
            return hit[1]
        with self.db.connection() as conn:
            row = apps.app(conn, app_id)
        if len(self._apps) > 10_000:
            self._apps.clear()
        self._apps[app_id] = (now, row)
        return row

    def _key(self, app_id: str, pem: str) -> Any:
        cache_key = (app_id, pem)
        key = self._keys.get(cache_key)
        if key is None:
            key = auth.load_public_key(pem)
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[cache_key] = key
        return key


def error_handler(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict[str, Any]) -> None:
    """Every failure becomes the envelope; no stack trace or SQL ever reaches the client."""
    seed_001 = req.path == OPEN_API_EDIT
    if isinstance(ex, ApiError):
        http, code, message = ex.http, ex.code, ex.message
    elif isinstance(ex, psycopg.errors.UniqueViolation):
        http, code, message = 409, 409, "such a record already exists"
    elif isinstance(ex, psycopg.errors.ForeignKeyViolation):
        http, code, message = 409, 409, "the record is referenced by, or references, another one"
    elif isinstance(ex, psycopg.errors.CheckViolation):
        http, code, message = 400, 400, "a value is outside its allowed range"
    elif isinstance(ex, psycopg.DataError):
        # A value PostgreSQL cannot store (out of range, bad encoding): the client's input.
        http, code, message = 400, 400, "a value is out of range or not storable"
    elif isinstance(ex, falcon.HTTPError):
        http, code = int(ex.status_code), int(ex.status_code)
        message = ex.title or "error"
        if http == 404:
            message = "no such route"
        elif http == 405:
            message = f"method {req.method} not allowed here"
    else:
        ref = uuid.uuid4().hex[:12]
        log.error("unhandled error %s on %s %s: %s", ref, req.method, req.path, ex.__class__.__name__, exc_info=ex)
        http, code, message = 500, 500, f"internal error (reference {ref})"
    resp.status = falcon.code_to_http_status(http)
    resp.content_type = "application/json"
    if seed_001:
        mapped = {10001: "10001", 10002: "10002", 400: "29002", 413: "29002", 404: "20001", 409: "20001", 405: "20001"}.get(code, "29008")
        resp.status = falcon.HTTP_200 if http < 500 else falcon.HTTP_500
        resp.data = dumps({"code": mapped, "message": message, "data": False})
    else:
        resp.data = dumps({"code": code, "status": "error", "message": message, "data": None})

