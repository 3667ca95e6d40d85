"""``inspkit review --serve``: a local web page for the two-stage review (paper Fig. 9).

The system manager sees what the model saw, where it looked (Grad-CAM), its
verdict and p(OK), and answers stage 1 (is the verdict right? wrong ones are
D_f) and, for right ones, stage 2 (does the heatmap sit on the part? "Training
FAIL" ones are D_g). Every answer is stored at once through
:class:`~inspkit.maintain.reviews.ReviewStore`, so closing the page loses nothing.

The server is the standard library's ``http.server``, one thread per request:
a browser opens spare connections it may never use, and one thread serving
them in turn would stall on those. Each request opens its own workspace,
because sqlite objects belong to the thread that made them. Model work is
serialised by one lock, since Grad-CAM hooks the shared model. Requests name
samples only by integer id; no path is ever taken from a request.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inspkit.errors import InputError, InspkitError
from inspkit.maintain.reviews import Attention, Decision, Prediction, ReviewState, ReviewStore
from inspkit.store.workspace import Workspace

SOURCE = "web"  # the ``source`` of decisions stored by the page
_VIEW_PX = 256  # the model's S x S view is enlarged to this side for a person
_MAX_BODY_BYTES = 64 * 1024
_PNG_CACHE_SIZE = 64
_JSON = "application/json; charset=utf-8"
_STATIC = {
    "/": ("review.html", "text/html; charset=utf-8"),
    "/review.js": ("review.js", "text/javascript; charset=utf-8"),
    "/review.css": ("review.css", "text/css; charset=utf-8"),
}
_PNG_ROUTE = re.compile(r"/(img|cam)/(\d{1,12})\.png")
_SAMPLE_ROUTE = re.compile(r"/api/sample/(\d{1,12})")
_DECISION_KEYS = {"sample_id", "correct", "attention", "label"}
_LOOPBACK_NAMES = {"localhost", "::1"}


class _HttpError(Exception):
    """An answer other than 200, with the one line the page shows."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _ReviewApp:
    """What the pages ask for, independent of HTTP."""

    def __init__(self, root: Path, alpha: float, device: str, reviewer: str) -> None:
        self.root = root
        self.alpha = alpha
        self.device = device
        self.reviewer = reviewer
        self._models: dict[str, Any] = {}
        self._pngs: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._model_lock = threading.Lock()
        self._cache_lock = threading.Lock()

    def queue(self) -> dict[str, Any]:
        """The review queue with its counts."""
        with Workspace.open(self.root) as ws:
            states = ReviewStore(ws.conn).queue(self.alpha)
        return {"alpha": self.alpha, "items": [_state_json(s) for s in states], "counts": _counts(states)}

    def sample(self, sample_id: int) -> dict[str, Any]:
        """One sample's state and every decision on it."""
        with Workspace.open(self.root) as ws:
            store = ReviewStore(ws.conn)
            _known(store, sample_id)
            return {"state": _state_json(store.state(sample_id)), "history": store.history(sample_id)}

    def decide(self, body: Any) -> dict[str, Any]:
        """Store one decision at once; returns the sample's new state and the counts."""
        decision = _decision(body, self.reviewer)
        with Workspace.open(self.root) as ws:
            store = ReviewStore(ws.conn)
            _known(store, decision.sample_id)
            store.record([decision], SOURCE)
            state = store.state(decision.sample_id)
            return {"state": _state_json(state), "counts": _counts(store.queue(self.alpha))}

    def png(self, kind: str, sample_id: int) -> bytes:
        """The model's view (``img``) or its Grad-CAM overlay (``cam``), enlarged, as PNG."""
        key = (kind, sample_id)
        with self._cache_lock:
            if key in self._pngs:
                self._pngs.move_to_end(key)
                return self._pngs[key]
        data = self._render(kind, sample_id)
        with self._cache_lock:
            self._pngs[key] = data
            while len(self._pngs) > _PNG_CACHE_SIZE:
                self._pngs.popitem(last=False)
        return data

    def _render(self, kind: str, sample_id: int) -> bytes:
        import cv2

        from inspkit.data.imageio import encode_png
        from inspkit.explain import overlay
        from inspkit.explain_samples import cam_for, model_input

        with Workspace.open(self.root) as ws:
            prediction = _known(ReviewStore(ws.conn), sample_id)
            sample = ws.samples.get(sample_id)
            if sample is None:
                raise _HttpError(404, f"sample {sample_id} has a prediction but no stored image")
            with self._model_lock:
                inf = self._inferencer(prediction.model_version)
                image = model_input(inf, ws, sample)
                # The overlay explains the version that made the prediction, not today's model.
                view = overlay(image, cam_for(inf, image)[0]) if kind == "cam" else image
        return encode_png(cv2.resize(view, (_VIEW_PX, _VIEW_PX), interpolation=cv2.INTER_NEAREST))

    def _inferencer(self, version: str) -> Any:
        from inspkit.models.inferencer import Inferencer

        if version not in self._models:
            self._models[version] = Inferencer.load(self.root / "models", version, self.device)
        return self._models[version]


def _known(store: ReviewStore, sample_id: int) -> Prediction:
    prediction = store.prediction(sample_id)
    if prediction is None:
        raise _HttpError(404, f"sample {sample_id} is not in the review queue (the model never inspected it)")
    return prediction


def _stage(state: ReviewState) -> str:
    if state.done:
        return "done"
    return "stage-2" if state.correct else "pending"


def _state_json(state: ReviewState) -> dict[str, Any]:
    p = state.prediction
    return {
        "sample_id": p.sample_id, "predicted": p.predicted, "p_ok": p.p_ok,
        "model_version": p.model_version, "inspected_at": p.inspected_at,
        "state": _stage(state), "failed": state.failed, "correct": state.correct,
        "label": state.label, "attention": state.attention.value if state.attention else None,
        "reviews": state.reviews,
    }


def _counts(states: list[ReviewState]) -> dict[str, int]:
    return {"total": len(states), "left": sum(not s.done for s in states),
            "failed": sum(s.failed for s in states)}


def _decision(body: Any, reviewer: str) -> Decision:
    """Check a posted decision's fields; the store checks them against the prediction."""
    if not isinstance(body, dict):
        raise _HttpError(400, 'send a JSON object like {"sample_id": 12, "correct": true, "attention": null}')
    unknown = sorted(set(body) - _DECISION_KEYS)
    if unknown:
        raise _HttpError(400, f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(_DECISION_KEYS))}")
    sample_id, correct = body.get("sample_id"), body.get("correct")
    attention, label = body.get("attention"), body.get("label")
    if type(sample_id) is not int:
        raise _HttpError(400, "sample_id must be an integer sample id")
    if type(correct) is not bool:
        raise _HttpError(400, "correct must be true (the model is right) or false (it is wrong)")
    if attention not in (None, *(a.value for a in Attention)):
        raise _HttpError(400, "attention must be null, 'well-trained' or 'training-fail'")
    if label not in (None, "OK", "NG"):
        raise _HttpError(400, "label must be null, 'OK' or 'NG'")
    return Decision(sample_id, correct, Attention(attention) if attention else None, label, reviewer)


def _static(name: str) -> bytes:
    return resources.files("inspkit.maintain").joinpath("web").joinpath(name).read_bytes()


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the app; every error becomes ``{"error": "one line"}``."""

    server: _HttpServer
    timeout = 30  # a spare connection the browser never uses must not hold a thread for ever

    def do_GET(self) -> None:  # the name http.server calls
        self._respond(self._get)

    def do_POST(self) -> None:
        self._respond(self._post)

    def log_message(self, format: str, *args: Any) -> None:
        # The library never prints; the caller decides where request lines go.
        if self.server.on_log is not None:
            self.server.on_log(format % args)

    def _respond(self, route: Callable[[str], tuple[int, str, bytes]]) -> None:
        try:
            self._check_host()
            status, ctype, body = route(urlsplit(self.path).path)
        except _HttpError as exc:
            status, ctype, body = exc.status, _JSON, _dump({"error": _one_line(exc.message)})
        except InputError as exc:
            status, ctype, body = 400, _JSON, _dump({"error": _one_line(str(exc))})
        except InspkitError as exc:
            status, ctype, body = 500, _JSON, _dump({"error": _one_line(str(exc))})
        except Exception as exc:  # noqa: BLE001  (the page must get an answer, not a dropped socket)
            self.log_message("internal error: %r", exc)
            status, ctype, body = 500, _JSON, _dump({"error": _one_line(f"internal error: {exc!r}")})
        self._send(status, ctype, body)

    def _get(self, path: str) -> tuple[int, str, bytes]:
        app = self.server.app
        if path in _STATIC:
            name, ctype = _STATIC[path]
            return 200, ctype, _static(name)
        if path == "/favicon.ico":  # browsers ask for it; "none" is better than an error in their console
            return 204, "image/x-icon", b""
        if path == "/api/queue":
            return 200, _JSON, _dump(app.queue())
        if match := _SAMPLE_ROUTE.fullmatch(path):
            return 200, _JSON, _dump(app.sample(int(match[1])))
        if match := _PNG_ROUTE.fullmatch(path):
            return 200, "image/png", app.png(match[1], int(match[2]))
        raise _HttpError(404, f"no page {path[:80]!r} here; open / for the review page")

    def _post(self, path: str) -> tuple[int, str, bytes]:
        if path != "/api/decision":
            raise _HttpError(404, f"nothing to post to at {path[:80]!r}; decisions go to /api/decision")
        # Requiring JSON makes a cross-site form post impossible: browsers must ask first, and are refused.
        if self.headers.get_content_type() != "application/json":
            raise _HttpError(415, "send the decision as JSON (Content-Type: application/json)")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise _HttpError(400, "Content-Length is not a number") from None
        if not 0 < length <= _MAX_BODY_BYTES:
            raise _HttpError(400 if length <= 0 else 413, f"the body must be 1..{_MAX_BODY_BYTES} bytes of JSON")
        try:
            body = json.loads(self.rfile.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _HttpError(400, f"the body is not valid JSON: {exc}") from None
        return 200, _JSON, _dump(self.server.app.decide(body))

    def _check_host(self) -> None:
        # A page on another site may get its name pointed at 127.0.0.1 (DNS rebinding);
        # its requests then carry that name, not ours.
        host = _host_name(self.headers.get("Host") or "")
        if self.server.loopback and host and host not in _LOOPBACK_NAMES and not host.startswith("127."):
            raise _HttpError(403, f"this review page answers only on the loopback address, not on {host[:80]!r}")

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
        self.end_headers()
        self.wfile.write(body)


def _host_name(header: str) -> str:
    """The name in a Host header, without the port or an IPv6 address's brackets."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0].lower()
    return header.rsplit(":", 1)[0].lower()


def _dump(data: Any) -> bytes:
    return json.dumps(data).encode()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck request must not keep the program from exiting

    def __init__(self, address: tuple[str, int], app: _ReviewApp, on_log: Callable[[str], None] | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.on_log = on_log
        self.loopback = _is_loopback(address[0])
        super().__init__(address, _Handler)


def _is_loopback(host: str) -> bool:
    return host in _LOOPBACK_NAMES or host.startswith("127.")


class ReviewServer:
    """The review page on ``host:port``, bound at once (port 0 picks a free one).

    Call :meth:`serve_forever` (blocks; the CLI) or :meth:`start` (a background
    thread; tests), then :meth:`close`. Also a context manager.

    Args:
        workspace_root: The workspace whose review queue is served.
        alpha: Unreliable means ``|p − 0.5| ≤ alpha`` (Eq. 5).
        host: Address to listen on; loopback by default, so only this computer can reach it.
        port: Port; 0 picks a free one (see :attr:`url`).
        device: Torch device for the Grad-CAM overlays.
        reviewer: Stored with every decision (free text).
        on_log: Receives one line per request; ``None`` drops them.

    Raises:
        WorkspaceError: ``workspace_root`` is not a workspace.
        InputError: ``alpha`` outside 0..0.5, or the address cannot be listened on.
    """

    def __init__(self, workspace_root: Path, alpha: float, host: str = "127.0.0.1", port: int = 0,
                 device: str = "cpu", reviewer: str = "",
                 on_log: Callable[[str], None] | None = None) -> None:
        app = _ReviewApp(Path(workspace_root), alpha, device, reviewer)
        app.queue()  # fail here, with the CLI's one line, rather than in the page
        try:
            self._httpd = _HttpServer((host, port), app, on_log)
        except OSError as exc:
            raise InputError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                             "pick another --port, or --host 127.0.0.1") from None
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8765/``."""
        host, port = self._httpd.server_address[:2]
        return f"http://[{host}]:{port}/" if ":" in str(host) else f"http://{host}:{port}/"

    def serve_forever(self) -> None:
        """Answer requests until :meth:`close` (from another thread) or Ctrl-C.

        After :meth:`start` (or :func:`start_server`) it waits for the background thread instead.
        """
        thread = self._thread
        if thread is not None:
            while thread.is_alive():
                thread.join(timeout=0.5)  # short waits keep Ctrl-C deliverable
            return
        self._serving = True
        self._httpd.serve_forever(poll_interval=0.2)

    def start(self) -> ReviewServer:
        """Serve in a background daemon thread; returns ``self``."""
        self._serving = True  # before the thread runs, so an early close() still stops it
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.2,),
                                        name="inspkit-review", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and free the port."""
        if self._serving:
            self._httpd.shutdown()  # returns at once when serve_forever already ended (Ctrl-C)
            self._serving = False
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ReviewServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_server(workspace_root: Path, alpha: float, host: str = "127.0.0.1", port: int = 0,
                 device: str = "cpu") -> ReviewServer:
    """Bind the review page and serve it in a background thread.

    Returns:
        The running server; read :attr:`ReviewServer.url`, call :meth:`ReviewServer.close`.
    """
    return ReviewServer(workspace_root, alpha, host, port, device).start()
