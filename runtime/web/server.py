"""The live web view: one page served by the daemon (starlette on uvicorn, in a thread of its own).

``GET /`` is the page (``runtime/web/page.html``: inline JS and a canvas, no build step);
``GET /events`` is a server-sent-event stream: every ``push_interval_s`` one JSON snapshot per
message::

    {"time": ..., "radars": {id: {"name", "online", "count", "occupied",
                                  "tracks": [{"id", "x", "y", "z", "vx", "vy"}],   # floor frame [m]
                                  "points": [[x, y, z, v], ...],                   # floor frame [m, m/s]
                                  "zones": [{"name", "polygon": [[x, y], ...], "occupied", "count"}],
                                  "fov": {"azimuth_deg": [lo, hi], "range_m": r, "height_m": h},
                                  "range_doppler": None or {"doppler_bins", "range_bins",
                                      "range_bin_m", "speed_first_mps", "speed_bin_mps",
                                      "db_min", "db_max", "data": base64 uint8 [doppler, range]}}},
     "events": [{"seq", "type", "time", "value", "radar", ...}, ...]}      # newest last, <= max_events

``GET /state.json`` is one snapshot. ``POST /ask`` (when the daemon answers questions; body
``{"question": "...", "radar": id?}`` with ``Content-Type: application/json``) goes through the
daemon's question service (:mod:`runtime.questions.service`, the same queue and limits as MQTT and
ZeroMQ; the rate-limit key is the browser's address) and streams newline-delimited JSON:
``{"type": "token", "text": piece}`` lines as the answer comes, then the final
``{"type": "answer", "status": "ok"|"refused"|"busy"|"error", "answer"|"error", ...}`` line. A POST
from another origin (an ``Origin`` header that is not this page's) is refused with 403, so other web
sites cannot ask through a browser on this machine. Off loopback every request needs the token (``?token=`` or
``Authorization: Bearer``): none -> 401, a wrong one -> 403. Without a token (loopback) a request
whose ``Host`` header is not a loopback name gets 403 (DNS rebinding).

The view is a :class:`~runtime.comms.base.Communicator`: the app hands it events and availability
like any publisher; it reads tracks and zones from the app's state provider and point clouds and
range-Doppler maps (raw-ADC sources) from a ``live_provider``.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import math
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from runtime.comms.base import StateProvider
from runtime.config import MmfmConfig, RadarSettings
from runtime.dsp.doppler import velocity_axis_mps
from runtime.events import Event
from runtime.questions.service import QuestionService, Reply
from runtime.tracking import to_floor
from runtime.web.settings import WebSettings, is_loopback

__all__ = ["LiveProvider", "WebView", "WebViewError", "radar_geometry"]

logger = logging.getLogger(__name__)

#: radar id -> {"points": POINT_DTYPE ``[n]`` (radar frame) or None,
#: "range_doppler_db": float ``[doppler, range]`` [dB] (raw-ADC sources) or None}
LiveProvider = Callable[[], dict[str, dict[str, Any]]]


#: open connections (streams included) the server takes before answering 503
MAX_CONNECTIONS = 32


class WebViewError(RuntimeError):
    """The web view could not start (address taken, not resolvable)."""


def radar_geometry(settings: RadarSettings) -> dict[str, Any]:
    """Field of view and zones of one radar for the top view (floor frame, [m] and [deg]).

    The reach on the floor is the horizontal part of the max range (the range FOV's upper limit
    from ``aoaFovCfg``/``cfarFovCfg`` when the .cfg sets one, else the chirp's max range) seen from
    the mounting height."""
    rc = settings.radar_config
    lo, hi = rc.demo.azimuth_fov_deg
    max_range = rc.chirp.max_range_m
    if rc.demo.range_fov_m is not None:
        max_range = min(max_range, rc.demo.range_fov_m[1])
    h = settings.mounting.height_m
    reach = math.sqrt(max(max_range**2 - h**2, 0.0))
    zones = []
    for z in settings.events.zones:
        if z.box_m is not None:
            x0, x1, y0, y1 = z.box_m
            poly = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
        else:
            poly = [list(p) for p in z.polygon_m or []]
        zones.append({"name": z.name, "polygon": poly})
    return {
        "azimuth_deg": [max(lo, -90.0), min(hi, 90.0)],
        "range_m": round(max_range, 3),
        "reach_m": round(reach, 3),
        "height_m": h,
        "zones": zones,
    }


class WebView:
    """The page and its live stream, as a publisher.

    Args:
        settings: host, port, push period, limits.
        config: the daemon config (radar names, mountings, zones, fields of view).
        token: the access token (None: no token asked; only allowed on loopback).
        live_provider: radar id -> latest point cloud and range-Doppler map; None: neither drawn.
    """

    name = "web"

    def __init__(
        self,
        settings: WebSettings,
        config: MmfmConfig,
        *,
        token: str | None = None,
        live_provider: LiveProvider | None = None,
    ) -> None:
        self.settings = settings
        self._token = token or None
        self._radars = {
            rid: (r.name or rid, r.mounting, radar_geometry(r))
            for rid, r in config.enabled_radars.items()
        }
        self._chirps = {rid: r.radar_config.chirp for rid, r in config.enabled_radars.items()}
        self._live_provider = live_provider
        self._state_provider: StateProvider | None = None
        self._questions: QuestionService | None = None
        self._events: deque[dict[str, Any]] = deque(maxlen=settings.max_events)
        self._seq = 0
        self._available: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._cached: tuple[float, str] = (0.0, "")  # (monotonic time, JSON) shared by the streams
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.port: int | None = None
        self.counters = {"requests": 0, "refused": 0, "streams": 0, "events": 0, "errors": 0}
        self._page = resources.files("runtime.web").joinpath("page.html").read_text("utf-8")
        self.app = Starlette(
            routes=[
                Route("/", self._index),
                Route("/events", self._stream),
                Route("/state.json", self._state_json),
                Route("/ask", self._ask, methods=["POST"]),
            ]
        )

    # ------------------------------------------------------------------ life
    @property
    def url(self) -> str:
        host = self.settings.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    def start(self) -> None:
        """Bind the socket (errors here are the caller's) and serve from a daemon thread."""
        host, port = self.settings.host, self.settings.port
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            family, _, _, _, addr = infos[0]
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
        except OSError as exc:
            raise WebViewError(f"web: cannot listen on {host}:{port}: {exc}") from exc
        sock.listen(64)
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
            limit_concurrency=MAX_CONNECTIONS,
        )
        self._server = uvicorn.Server(config)
        self._closing.clear()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="web", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise WebViewError(f"web: the server on {host}:{self.port} did not start")
            time.sleep(0.02)
        logger.info("web view on %s%s", self.url, " (token required)" if self._token else "")

    def stop(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._server = None

    def check_threads(self) -> list[str]:
        """The server thread's name when it died while the view should be up."""
        if self._thread is not None and not self._thread.is_alive() and not self._closing.is_set():
            return ["web"]
        return []

    # ------------------------------------------------------------------ publisher
    def set_available(self, radar: str, online: bool) -> None:
        with self._lock:
            self._available[radar] = online

    def publish_event(self, event: Event) -> None:
        if event.type == "tracks" or event.attributes.get("refresh"):
            return  # tracks are drawn; periodic refreshes would drown the list
        with self._lock:
            self._seq += 1
            self._events.append({"seq": self._seq, **event.to_dict()})
            self.counters["events"] += 1

    def publish_stats(self, radar: str, stats: dict[str, Any]) -> None:
        return None

    def set_state_provider(self, provider: StateProvider) -> None:
        self._state_provider = provider

    def set_question_service(self, service: QuestionService) -> None:
        """Answer the page's question box with ``service`` (``POST /ask``)."""
        self._questions = service

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counters)

    # ------------------------------------------------------------------ snapshot
    def snapshot(self) -> dict[str, Any]:
        """What the page draws now (see the module docstring)."""
        state = self._state_provider() if self._state_provider is not None else {"radars": {}}
        live = self._live_provider() if self._live_provider is not None else {}
        radars = {}
        for rid, (name, mounting, geometry) in self._radars.items():
            rs = state.get("radars", {}).get(rid, {})
            tracks = [
                {
                    "id": t["id"],
                    "x": t["position"][0],
                    "y": t["position"][1],
                    "z": t["position"][2] if len(t["position"]) > 2 else 0.0,
                    "vx": t["velocity"][0],
                    "vy": t["velocity"][1],
                }
                for t in rs.get("tracks", [])
            ]
            zone_state = rs.get("zones", {})
            zones = [
                {**z, **zone_state.get(z["name"], {"occupied": False, "count": 0})}
                for z in geometry["zones"]
            ]
            cloud: list[list[float]] = []
            frame = live.get(rid) or {}
            pts = frame.get("points")
            if pts is not None and len(pts) and self.settings.max_points:
                pts = pts[: self.settings.max_points]
                xyz = to_floor(pts, mounting)
                arr = np.column_stack([xyz, pts["v"].astype(np.float64)])
                cloud = np.round(arr, 3).tolist()
            with self._lock:
                online = self._available.get(rid, bool(rs.get("online", False)))
            radars[rid] = {
                "name": name,
                "online": online,
                "count": rs.get("count", 0),
                "occupied": rs.get("occupied", False),
                "tracks": tracks,
                "points": cloud,
                "zones": zones,
                "fov": {k: geometry[k] for k in ("azimuth_deg", "range_m", "reach_m", "height_m")},
                "range_doppler": self._range_doppler(rid, frame.get("range_doppler_db")),
            }
        with self._lock:
            events = list(self._events)
        return {"time": time.time(), "radars": radars, "events": events}

    def _range_doppler(self, rid: str, rd: Any) -> dict[str, Any] | None:
        """The detection map as 8-bit grey levels over its own dB span, base64 row-major
        ``[doppler, range]`` (doppler fftshifted: row 0 is the most negative speed)."""
        if rd is None:
            return None
        rd = np.asarray(rd, dtype=np.float32)  # [doppler, range] [dB]
        lo, hi = float(np.min(rd)), float(np.max(rd))
        grey = np.clip((rd - lo) * (255.0 / max(hi - lo, 1e-6)), 0, 255).astype(np.uint8)
        chirp = self._chirps[rid]
        speeds = velocity_axis_mps(chirp)
        return {
            "doppler_bins": int(rd.shape[0]),
            "range_bins": int(rd.shape[1]),
            "range_bin_m": float(chirp.range_bin_m),
            "speed_first_mps": float(speeds[0]),
            "speed_bin_mps": float(chirp.velocity_bin_mps),
            "db_min": round(lo, 2),
            "db_max": round(hi, 2),
            "data": base64.b64encode(grey.tobytes()).decode("ascii"),
        }

    # ------------------------------------------------------------------ HTTP
    def _refuse(self, request: Request) -> Response | None:
        with self._lock:
            self.counters["requests"] += 1
        if self._token is None:
            # loopback without a token: only loopback host names, so a web page that rebinds its
            # DNS name to 127.0.0.1 cannot read the view from a browser on this machine
            host = request.headers.get("host", "").rsplit(":", 1)[0].strip("[]")
            if host in ("localhost", "") or is_loopback(host):
                return None
            with self._lock:
                self.counters["refused"] += 1
            return Response(
                f"host {host!r} refused: open the view as http://127.0.0.1:{self.port}/\n",
                status_code=403,
                media_type="text/plain",
            )
        given = request.query_params.get("token")
        auth = request.headers.get("authorization", "")
        if given is None and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if given is None:
            status, text = 401, "a token is required: add ?token=... to the address"
        elif hmac.compare_digest(given.encode(), self._token.encode()):
            return None
        else:
            status, text = 403, "wrong token"
        with self._lock:
            self.counters["refused"] += 1
        return Response(text + "\n", status_code=status, media_type="text/plain")

    async def _index(self, request: Request) -> Response:
        return self._refuse(request) or HTMLResponse(
            self._page, headers={"Cache-Control": "no-store"}
        )

    async def _state_json(self, request: Request) -> Response:
        return self._refuse(request) or JSONResponse(self.snapshot())

    async def _ask(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
            with self._lock:
                self.counters["refused"] += 1
            return Response("cross-origin question refused\n", status_code=403)
        service = self._questions
        if service is None:
            return JSONResponse(
                {"type": "answer", "status": "error", "error": "this daemon answers no questions "
                 "(no questions: section in its config)"}, status_code=404,
            )  # fmt: skip
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send the question as application/json"}, 415)
        try:
            doc = json.loads(await request.body())
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            return JSONResponse({"error": 'expected {"question": "..."}'}, status_code=400)
        radar = doc.get("radar")
        loop = asyncio.get_running_loop()
        out: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

        def put(item: dict[str, Any] | None) -> None:
            loop.call_soon_threadsafe(out.put_nowait, item)

        def on_done(reply: Reply) -> None:
            put(reply.to_dict())
            put(None)

        service.ask(
            doc.get("question"),
            client="web-" + (request.client.host if request.client else "unknown"),
            radar=radar if isinstance(radar, str) else None,
            on_token=lambda piece: put({"type": "token", "text": piece}),
            on_done=on_done,
        )

        async def lines() -> AsyncIterator[str]:
            while True:
                item = await out.get()
                if item is None:
                    return
                yield json.dumps(item, default=str) + "\n"

        return StreamingResponse(
            lines(), media_type="application/x-ndjson", headers={"Cache-Control": "no-store"}
        )

    async def _stream(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        with self._lock:
            self.counters["streams"] += 1
        return StreamingResponse(
            self._messages(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    def _snapshot_json(self) -> str | None:
        """The snapshot as JSON, made at most once per half push period for all streams."""
        now = time.monotonic()
        made, text = self._cached
        if text and now - made < 0.5 * self.settings.push_interval_s:
            return text
        try:
            text = json.dumps(self.snapshot(), separators=(",", ":"))
        except Exception:  # a snapshot bug must not end the daemon or the stream
            with self._lock:
                self.counters["errors"] += 1
            logger.exception("web snapshot failed")
            return None
        self._cached = (now, text)
        return text

    async def _messages(self) -> AsyncIterator[str]:
        period = self.settings.push_interval_s
        while not self._closing.is_set():
            text = self._snapshot_json()
            if text is not None:
                yield "data: " + text + "\n\n"
            await asyncio.sleep(period)
