"""The HTTP face of the service: webhooks, the JSON API, live logs and the dashboard.

Starlette with uvicorn, imported only here (and this module only by the serve command), so
`dockstep run` never pays for them. Sync endpoints run in Starlette's thread pool, where
the blocking history, git and session calls belong; the live log stream is the one async
endpoint, polling the job's log file.

Fixed names, for scripts and other tools: POST /hooks/github, POST /hooks/gitlab,
GET /api/runs, GET /api/runs/{id}, GET /api/runs/{id}/jobs/{job}/log[/stream],
POST /api/runs/{id}/cancel, POST /api/runs/{id}/rerun[?failed=1],
POST /api/runs/{id}/jobs/{job}/approve, and the dashboard at GET /.
Mutating calls need `Authorization: Bearer <token>` (see `runner.service.access`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from runner import session
from runner.service import access, views
from runner.service.logs import POLL, LogTail
from runner.service.service import Reply, Service
from runner.service.webhooks import MAX_BODY

STATIC = Path(__file__).parent / "static"
Endpoint = Callable[[Request], Response]


def _reply(reply: Reply) -> Response:
    return JSONResponse(dict(reply.body), status_code=reply.status)


def _error(status: int, text: str) -> Response:
    return JSONResponse({"error": text}, status_code=status)


def build(service: Service, token: str) -> Starlette:
    """The app over a started service; `token` guards the mutating calls."""
    api = _Api(service)

    def guarded(endpoint: Endpoint) -> Endpoint:
        def checked(request: Request) -> Response:
            if not access.allowed(request.headers.get("authorization", ""), token):
                return _error(401, "this call needs Authorization: Bearer <the service token>")
            return endpoint(request)

        return checked

    routes = [
        Route("/", _static),
        Route("/static/{name}", _static),
        Route("/hooks/github", api.hook, methods=["POST"]),
        Route("/hooks/gitlab", api.hook, methods=["POST"]),
        Route("/api/runs", api.runs),
        Route("/api/runs/{id:int}", api.run),
        Route("/api/runs/{id:int}/jobs/{job}/log", api.job_log),
        Route("/api/runs/{id:int}/jobs/{job}/log/stream", api.job_stream),
        Route("/api/runs/{id:int}/cancel", guarded(api.cancel), methods=["POST"]),
        Route("/api/runs/{id:int}/rerun", guarded(api.rerun), methods=["POST"]),
        Route("/api/runs/{id:int}/jobs/{job}/approve", guarded(api.approve), methods=["POST"]),
    ]
    return Starlette(routes=routes)


class _Api:
    """The endpoints, each a thin call into the service and a JSON (or text) answer."""

    def __init__(self, service: Service) -> None:
        self._service = service

    async def hook(self, request: Request) -> Response:
        kind = request.url.path.rsplit("/", 1)[1]
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:  # refused unread
            return _error(413, f"the body is larger than {MAX_BODY} bytes")
        body = await request.body()
        headers = dict(request.headers)
        return _reply(await run_in_threadpool(self._service.receive, kind, headers, body))

    def runs(self, request: Request) -> Response:
        limit = int(request.query_params.get("limit", "50"))
        return JSONResponse([views.summary(r) for r in self._service.history.list_runs(limit)])

    def run(self, request: Request) -> Response:
        found = self._service.history.get_run(request.path_params["id"])
        if found is None:
            return _error(404, "no such run")
        environ = self._service.environ
        return JSONResponse(views.detail(found, lambda s: session.awaiting_approval(environ, s)))

    def job_log(self, request: Request) -> Response:
        found = self._service.history.get_run(request.path_params["id"])
        job = found and views.find_job(
            found, request.path_params["job"], request.query_params.get("pipeline", "")
        )
        if not job or not job.log_path:
            return _error(404, "no such job")
        path = Path(job.log_path)
        return PlainTextResponse(path.read_text(errors="replace") if path.exists() else "")

    async def job_stream(self, request: Request) -> Response:
        run_id, name = request.path_params["id"], request.path_params["job"]
        pipeline = request.query_params.get("pipeline", "")
        found = await run_in_threadpool(self._service.history.get_run, run_id)
        job = found and views.find_job(found, name, pipeline)
        if not job or not job.log_path:
            return _error(404, "no such job")
        events = _stream(self._service, LogTail(Path(job.log_path)), run_id, name, pipeline)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)

    def cancel(self, request: Request) -> Response:
        return _reply(self._service.cancel(request.path_params["id"]))

    def approve(self, request: Request) -> Response:
        who = request.headers.get("x-dockstep-user", "") or "dashboard"
        job = request.path_params["job"]
        return _reply(self._service.approve(request.path_params["id"], job, who))

    def rerun(self, request: Request) -> Response:
        failed = request.query_params.get("failed", "") in ("1", "true", "yes")
        return _reply(self._service.rerun(request.path_params["id"], failed=failed))


def _static(request: Request) -> Response:
    name = request.path_params.get("name", "index.html")
    if name not in ("index.html", "dashboard.js", "dashboard.css"):
        return _error(404, "no such file")
    return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})


async def _stream(
    service: Service, tail: LogTail, run_id: int, job: str, pipeline: str
) -> AsyncIterator[str]:
    """Server-sent events: one `data:` per log line, then `event: end` once the job ended."""
    while True:
        found = await run_in_threadpool(service.history.get_run, run_id)
        done = views.job_done(found, job, pipeline)
        for line in tail.read() + (tail.rest() if done else []):
            yield f"data: {json.dumps(line)}\n\n"
        if done:
            yield "event: end\ndata: {}\n\n"
            return
        await asyncio.sleep(POLL)


def serve(service: Service, token: str, *, host: str, port: int, ready: Callable[[], None]) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn's handlers), then stop the service's runs."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        ready()
        yield

    app = build(service, token)
    app.router.lifespan_context = lifespan
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    uvicorn.Server(config).run()
