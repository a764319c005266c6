"""The HTTP face: routes, sign-in, and errors as JSON. It translates requests into WebCore
calls (blocking, so run in Starlette's thread pool) and their errors through one table."""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from lightflow import Client, ClientError
from lightflow_web.config import WebConfig
from lightflow_web.core import WebCore
from lightflow_web.openapi import OPENAPI
from lightflow_web.sessions import COOKIE, Sessions
from lightflow_web.streams import RunsFeed, StreamSlots, run_events

API = "/api/v1"
STATIC = resources.files("lightflow_web") / "static"

# gRPC status names (ClientError.code) and our own -> HTTP status.
STATUS_OF_CODE = {
    "INVALID_ARGUMENT": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "FAILED_PRECONDITION": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_CODE_OF_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RESOURCE_EXHAUSTED",
}
# The pages: one document, routed in the browser.
PAGES = (
    "/",
    "/runs",
    "/runs/{run_id}",
    "/workflows",
    "/workflows/{name}",
    "/workers",
    "/schedules",
)
# What the browser may load and run: this origin's files only, no inline script or style.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
        " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# Failed sign-ins one address may make a minute.
_SIGN_IN_ATTEMPTS = 10


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class WebApp:
    """The routes over one WebCore; `app` is the ASGI application."""

    def __init__(self, config: WebConfig, client: Client, core: WebCore) -> None:
        self._config = config
        self._client = client
        self._core = core
        self._sessions = Sessions(config.token, config.session_s) if config.token else None
        self._feed = RunsFeed(client)
        self._slots = StreamSlots(config.max_streams)
        self._failed_sign_ins: defaultdict[str, deque[float]] = defaultdict(deque)
        routes = [
            Route(f"{API}/login", self.login, methods=["POST"]),
            Route(f"{API}/logout", self.logout, methods=["POST"]),
            Route(f"{API}/openapi.json", self.openapi),
            Route(f"{API}/runs", self.runs, methods=["GET"]),
            Route(f"{API}/runs", self.start, methods=["POST"]),
            Route(f"{API}/runs/{{run_id}}", self.run),
            Route(f"{API}/runs/{{run_id}}/graph", self.graph),
            Route(f"{API}/runs/{{run_id}}/output", self.output),
            Route(f"{API}/runs/{{run_id}}/provenance", self.provenance),
            Route(f"{API}/runs/{{run_id}}/events", self.run_events),
            Route(f"{API}/runs/{{run_id}}/stop", self.stop, methods=["POST"]),
            Route(f"{API}/workflows", self.workflows),
            Route(f"{API}/workflows/{{name:path}}", self.workflow),
            Route(f"{API}/workers", self.workers),
            Route(f"{API}/schedules", self.schedules),
            Route(
                f"{API}/schedules/{{name}}/{{action:str}}", self.schedule_action, methods=["POST"]
            ),
            Route(f"{API}/events", self.events),
            Route(f"{API}/{{rest:path}}", self.unknown_api),
            Route("/healthz", self.health),
            Route("/login", self.login_page),
            *(Route(path, self.page) for path in PAGES),
            Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
        ]
        self.app = Starlette(
            routes=routes,
            middleware=[Middleware(BaseHTTPMiddleware, dispatch=self._guard)],
            exception_handlers={HTTPException: self._http_error, ApiError: self._api_error},
        )

    # -- sign-in and errors ----------------------------------------------------------------

    def signed_in(self, request: Request) -> bool:
        if self._sessions is None:
            return True
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer ") and self._sessions.token_matches(header[7:].strip()):
            return True
        return self._sessions.valid(request.cookies.get(COOKIE, ""))

    async def _guard(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        open_path = path in ("/login", "/healthz", f"{API}/login", f"{API}/openapi.json")
        if not open_path and not path.startswith("/static/"):
            if not self.signed_in(request):
                if path.startswith(f"{API}/"):
                    response: Response = error_response(
                        401,
                        "UNAUTHENTICATED",
                        "sign in first: send the stack's token"
                        " (Authorization: Bearer <token>) or sign in on /login",
                    )
                else:
                    response = RedirectResponse(f"/login?next={quote(path)}", status_code=303)
                return self._secured(response)
            if request.method not in ("GET", "HEAD") and not _same_origin(request):
                return self._secured(
                    error_response(403, "PERMISSION_DENIED", "a request from another site")
                )
        return self._secured(await call_next(request))

    @staticmethod
    def _secured(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith(f"{API}/") or exc.status_code != 404:
            code = _CODE_OF_STATUS.get(exc.status_code, "INTERNAL")
            return error_response(exc.status_code, code, str(exc.detail))
        return error_response(404, "NOT_FOUND", f"no page at {request.url.path}")

    async def _api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message)

    async def call(self, fn: Callable[..., Any], *args: Any) -> JSONResponse:
        """A core call in the thread pool; its ClientError becomes the JSON error."""
        try:
            return JSONResponse(await run_in_threadpool(fn, *args))
        except ClientError as err:
            status = STATUS_OF_CODE.get(err.code, 500)
            raise ApiError(status, err.code or "INTERNAL", str(err)) from err

    async def read_json(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json")
        limit = self._config.max_body_bytes
        too_large = ApiError(413, "PAYLOAD_TOO_LARGE", f"the body is over {limit:,} bytes")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large  # refused before it is read
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        body = b"".join(chunks)
        try:
            value = json.loads(body)
        except (UnicodeDecodeError, ValueError) as err:
            raise ApiError(400, "INVALID_ARGUMENT", f"the body is not JSON: {err}") from err
        if not isinstance(value, dict):
            raise ApiError(400, "INVALID_ARGUMENT", "the body must be a JSON object")
        return value

    # -- sign-in -----------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        if self._sessions is None:
            return Response(status_code=204)
        address = request.client.host if request.client else ""
        recent = self._failed_sign_ins[address]
        while recent and recent[0] < time.monotonic() - 60:
            recent.popleft()
        if len(recent) >= _SIGN_IN_ATTEMPTS:
            raise ApiError(429, "RESOURCE_EXHAUSTED", "too many failed sign-ins: wait a minute")
        token = (await self.read_json(request)).get("token")
        if not isinstance(token, str) or not self._sessions.token_matches(token.strip()):
            recent.append(time.monotonic())
            raise ApiError(401, "UNAUTHENTICATED", "that is not the stack's token")
        response = Response(status_code=204)
        response.set_cookie(
            COOKIE,
            self._sessions.new(),
            max_age=self._sessions.lifetime_s,
            httponly=True,
            samesite="strict",
            secure=self._config.tls_cert is not None,
            path="/",
        )
        return response

    async def logout(self, request: Request) -> Response:
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "serving"})

    # -- pages -------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        return FileResponse(str(STATIC / "index.html"), headers={"Cache-Control": "no-cache"})

    async def login_page(self, request: Request) -> Response:
        return FileResponse(str(STATIC / "login.html"), headers={"Cache-Control": "no-cache"})

    # -- the API -------------------------------------------------------------------------

    async def runs(self, request: Request) -> Response:
        query = request.query_params
        return await self.call(
            self._core.runs,
            query.get("status", ""),
            query.get("workflow", ""),
            _int(query.get("limit"), "limit"),
            query.get("page_token", ""),
        )

    async def run(self, request: Request) -> Response:
        return await self.call(self._core.run, request.path_params["run_id"])

    async def graph(self, request: Request) -> Response:
        return await self.call(self._core.graph, request.path_params["run_id"])

    async def output(self, request: Request) -> Response:
        query = request.query_params
        return await self.call(
            self._core.output,
            request.path_params["run_id"],
            query.get("instance", ""),
            query.get("task", ""),
            query.get("after", ""),
            _int(query.get("limit"), "limit"),
        )

    async def provenance(self, request: Request) -> Response:
        return await self.call(self._core.provenance, request.path_params["run_id"])

    async def start(self, request: Request) -> Response:
        body = await self.read_json(request)
        workflow, arguments = body.get("workflow"), body.get("arguments", {})
        keep_data = body.get("keep_data", False)
        if not isinstance(workflow, str) or not workflow:
            raise ApiError(400, "INVALID_ARGUMENT", 'name the workflow: {"workflow": "name"}')
        if not isinstance(arguments, dict) or not all(
            isinstance(v, str | int | float | bool) for v in arguments.values()
        ):
            raise ApiError(
                400, "INVALID_ARGUMENT", "arguments must be an object of names to text values"
            )
        if not isinstance(keep_data, bool):
            raise ApiError(400, "INVALID_ARGUMENT", "keep_data must be true or false")
        texts = {str(k): _text(v) for k, v in arguments.items()}
        response = await self.call(lambda: {"id": self._core.start(workflow, texts, keep_data)})
        response.status_code = 201
        return response

    async def stop(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        return await self.call(lambda: {"status": self._core.stop(run_id)})

    async def workflows(self, request: Request) -> Response:
        return await self.call(self._core.workflows)

    async def workflow(self, request: Request) -> Response:
        return await self.call(self._core.workflow, request.path_params["name"])

    async def schedules(self, request: Request) -> Response:
        return await self.call(self._core.schedules)

    async def schedule_action(self, request: Request) -> Response:
        name, action = request.path_params["name"], request.path_params["action"]
        if action not in ("pause", "resume", "trigger"):
            raise ApiError(404, "NOT_FOUND", f"no API at {request.url.path}")
        return await self.call(self._core.schedule_action, name, action)

    async def workers(self, request: Request) -> Response:
        return await self.call(self._core.workers)

    async def unknown_api(self, request: Request) -> Response:
        raise ApiError(404, "NOT_FOUND", f"no API at {request.url.path}")

    async def run_events(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        # Known (or NOT_FOUND now, as JSON) before the stream starts.
        await self.call(self._core.run_exists, run_id)
        after = request.headers.get("last-event-id") or request.query_params.get("after", "")
        return self._stream(run_events(self._client, run_id, after))

    async def events(self, request: Request) -> Response:
        return self._stream(self._feed.follow())

    def _stream(self, messages: Any) -> Response:
        if not self._slots.take():
            raise ApiError(429, "RESOURCE_EXHAUSTED", "too many live streams on this instance")

        async def bounded() -> Any:
            try:
                async for item in messages:
                    yield item
            finally:
                self._slots.give_back()

        return StreamingResponse(
            bounded(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


def _same_origin(request: Request) -> bool:
    """A state change with a session cookie comes from this site's pages: a browser sends
    Origin with it; a script without one (curl) sends the token itself."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _int(value: str | None, name: str) -> int:
    if value is None or value == "":
        return 0
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, "INVALID_ARGUMENT", f"{name} must be a whole number") from None


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
