"""The API's edges: request ids, the error model, and the translation of failures.

- Request ids: :class:`RequestContext` (pure ASGI, cheap) takes ``X-Request-Id`` or
  makes one, returns it on the response, and puts it in a context variable that
  :class:`RequestIdFilter` adds to every log record of that request (threads of the
  pool inherit it). It also refuses bodies over ``MAX_BODY`` with 413 before reading.
- Errors: every non-2xx answer is ``{"error": code, "detail": text}``. Redis down or
  paused (``ConnectionError``/``TimeoutError``, bounded by the client's socket
  timeout) becomes 503 with ``Retry-After``; an injected :class:`FaultAbort` becomes
  500 ``injected_fault`` (documented: the handler "died" at that point); anything
  else unexpected is 500 ``internal`` and logged with its traceback.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import orjson
import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from reference_queue.api_models import MAX_BODY
from reference_queue.errors import FaultAbort

logger = logging.getLogger(__name__)

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_GOOD_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal",
    503: "redis_unavailable",
}


class ApiError(Exception):
    """An answer other than success, raised by an endpoint and rendered by a handler."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers
        self.extra = extra  # more fields of the error body, e.g. /healthz's "breaker"


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error_response(
    status: int, error: str, detail: Any, headers: Mapping[str, str] | None = None, **extra: Any
) -> Response:
    return json_response({"error": error, "detail": detail, **extra}, status, headers)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def configure_logging(level: str) -> None:
    """Root handler on stderr whose lines carry the request id (API processes only)."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class RequestContext:
    """Pure ASGI middleware: request id in, request id out, one access line, body cap."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _GOOD_REQUEST_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)
        state = {"status": 0}
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            if _too_long(headers.get(b"content-length")):
                detail = f"request body over {MAX_BODY} bytes"
                await error_response(413, "payload_too_large", detail)(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:  # the process boundary of a request: log it, answer 500 if we can
            logger.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if not state["status"]:
                await error_response(500, "internal", "unexpected server error")(
                    scope, receive, send_with_id
                )
        finally:
            logger.info(
                "%s %s -> %s in %.1f ms",
                scope["method"],
                scope["path"],
                state["status"],
                (time.perf_counter() - started) * 1000,
            )
            REQUEST_ID.reset(token)


def _too_long(content_length: bytes | None) -> bool:
    try:
        return content_length is not None and int(content_length) > MAX_BODY
    except ValueError:
        return False


def install_error_handlers(app: FastAPI, retry_after: int) -> None:
    """Render every failure in the error model (DESIGN.md section 3)."""

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.error, exc.detail, exc.headers, **exc.extra)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 400:  # FastAPI's "error parsing the body": a bad body is 422 here
            return error_response(422, "invalid_request", f"body: {exc.detail}")
        code = _CODES.get(exc.status_code, f"http_{exc.status_code}")
        return error_response(exc.status_code, code, exc.detail, exc.headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        text = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        # `errors` keeps FastAPI's list for machines; inputs are left out (may be huge).
        brief = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
        return error_response(422, "invalid_request", text, errors=brief)

    async def on_redis_down(request: Request, exc: Exception) -> Response:
        logger.warning("Redis unavailable: %s", exc)
        headers = {"Retry-After": str(retry_after)}
        return error_response(503, "redis_unavailable", f"Redis unavailable: {exc}", headers)

    async def on_fault(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FaultAbort)
        logger.warning("injected abort at %s: the handler died there", exc.point)
        return error_response(500, "injected_fault", exc.point)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(redis.ConnectionError, on_redis_down)
    app.add_exception_handler(redis.TimeoutError, on_redis_down)
    app.add_exception_handler(FaultAbort, on_fault)
