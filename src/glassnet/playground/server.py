"""The playground's server: Starlette (ASGI) under uvicorn, one WebSocket and
one Session per browser tab.

Why this stack: Starlette is small and well kept, speaks WebSockets with
binary messages natively, and serves static files with its path checks (no
traversal); uvicorn runs it on one asyncio loop, so twenty tabs cost twenty
sockets, not twenty processes. Training runs in a small pool of worker
threads (one per core: NumPy's work releases the GIL, Python's does not, so
more threads would only contend) so the loop keeps answering; its queue is
first come, first served, so the tabs take turns.

The protocol. The page sends JSON text messages:
    {"type": "config", "config": {...}}       the settings from the URL
    {"id": n, "type": "set", "name": ..., "value": ...}
    {"id": n, "type": "play" | "pause" | "step" | "reset" | "regenerate"}
    {"type": "frame"}                          while playing: train one epoch, send a frame
                                               (at most FRAMES_PER_SECOND a second per tab)
    {"id": n, "type": "edit", "layer": i, "row": j | null, "column": k, "value": v}
    {"id": n, "type": "download", "format": "keras" | "safetensors"}
    {"id": n, "type": "upload", "csv": "x1,x2,label rows"}   (the ack has a "report")
and gets JSON text ({"type": "ack", "id", "ok", "error", "config", "code"},
{"type": "data", ...}, {"type": "file", "id", "name", "data": base64}) and binary frames (``Session.frame``). The page asks
for the next frame when it has drawn the last one, so a slow tab never
queues work. Every message is checked; a bad one gets an error reply and
the server goes on. A tab that sends nothing for ``IDLE_SECONDS`` is closed
and its session freed; past ``MAX_SESSIONS`` the server says it is full.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import sys

from glassnet.playground.code import export_code
from glassnet.playground.session import Session
from glassnet.playground.words import Said, join, korean

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MAX_SESSIONS = 24
IDLE_SECONDS = 600
UPLOAD_BYTES = 60 * 1024         # the page's (and Session.upload's) limit on a CSV file
# one message from the page: an upload's CSV escaped into JSON grows (a tab is \t, a CRLF
# \r\n, a control character \u00XX: at most 6 times), so the limit holds the largest
# upload the page allows, escaped, and its envelope
MAX_MESSAGE = 6 * UPLOAD_BYTES + 4 * 1024
FRAMES_PER_SECOND = 60           # a tab's most: TensorFlow Playground's one epoch per animation frame
MIN_FPS = 5                      # a training tab's least; below it the server is full
SETTLE_SECONDS = 3.0             # how long a tab plays before its rate counts
SLOW_SECONDS = 3.0               # how long a tab stays below MIN_FPS before the server is full
RETRY_SECONDS = 30.0             # after that long the server tries one more tab again


class Tab:
    """One browser tab: its Session, and the frames it was served while playing
    (their times, the last few seconds), so the server can tell when it is full."""

    def __init__(self, session):
        self.session = session
        self.started = 0.0            # when play was pressed
        self.served = collections.deque(maxlen=FRAMES_PER_SECOND * 4)
        self.notice = None            # "the server is full" news for this tab

    def play(self, now):
        self.started = now
        self.served.clear()

    def rate(self, now, window=3.0):
        """Frames per second over the last ``window`` seconds of play."""
        since = max(self.started, now - window)
        return sum(1 for t in self.served if t >= since) / max(now - since, 1e-9)


class Capacity:
    """How many tabs may train at once, learned from the tabs themselves: when a
    tab that has played for SETTLE_SECONDS is served fewer than MIN_FPS frames a
    second (over 3 s) for SLOW_SECONDS on end, the newest playing tab is paused
    with a message and the limit is set one below the number that were playing;
    play is then refused at the limit. RETRY_SECONDS after the last pause the
    limit is lifted again."""

    def __init__(self, tabs):
        self.tabs, self.limit, self.shed_at, self.task = tabs, None, -1e9, None
        self.slow_since = None

    def playing(self):
        return [tab for tab in self.tabs if tab.session.running]

    def refusal(self):
        """Why one more tab may not play now (None: it may)."""
        if self.limit is not None and len(self.playing()) >= self.limit:
            return Said(f"The playground server is full: {self.limit} network"
                        f"{'s are' if self.limit != 1 else ' is'} training at once, and one "
                        f"more would slow them below {MIN_FPS} frames a second on this machine "
                        f"({os.cpu_count()} cores). Pause one in another tab, or try again in "
                        f"a minute.",
                        f"플레이그라운드 서버가 꽉 찼습니다: 네트워크 {self.limit}개가 한꺼번에 "
                        f"학습하고 있어서, 하나 더 하면 이 컴퓨터(코어 {os.cpu_count()}개)에서 "
                        f"초당 {MIN_FPS}프레임 아래로 느려집니다. 다른 탭에서 하나를 멈추거나 "
                        f"1분 뒤에 다시 해 보세요.")
        return None

    def check(self, now):
        playing = self.playing()
        if self.limit is not None and now - self.shed_at > RETRY_SECONDS:
            self.limit = None
        if not playing or now - self.shed_at < SETTLE_SECONDS:
            return None
        settled = [tab for tab in playing if now - tab.started >= SETTLE_SECONDS]
        if not settled or min(tab.rate(now) for tab in settled) >= MIN_FPS:
            self.slow_since = None
            return None
        if self.slow_since is None:
            self.slow_since = now
        if now - self.slow_since < SLOW_SECONDS:
            return None
        self.slow_since = None
        newest = max(playing, key=lambda tab: tab.started)
        newest.session.running = False
        self.limit, self.shed_at = max(1, len(playing) - 1), now
        newest.notice = self.refusal() or Said("The playground server is full.",
                                               "플레이그라운드 서버가 꽉 찼습니다.")
        return newest

    async def watch(self):
        """Runs while any tab is open (a bounded loop: it ends with the last tab)."""
        loop = asyncio.get_running_loop()
        while self.tabs:
            await asyncio.sleep(0.5)
            self.check(loop.time())
        self.task = None
        _release_memory()


def _release_memory():
    """With the last tab gone, give the freed memory back to the system: a
    collection (the networks' reference cycles), then glibc's malloc_trim, which
    returns the free parts of the heap (without it the process keeps them)."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):       # not glibc: nothing to trim
        pass


def create_app(max_sessions=MAX_SESSIONS, idle_seconds=IDLE_SECONDS, hosts=()):
    """The playground's web app; ``hosts``: names besides this machine's
    loopback ones that requests may be addressed to (a ``--host`` given)."""
    import concurrent.futures

    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocketDisconnect

    tabs = set()
    capacity = Capacity(tabs)
    workers = concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="playground")

    async def index(request):
        return FileResponse(os.path.join(STATIC, "index.html"),
                            headers={"Cache-Control": "no-store"})

    async def socket(websocket):
        await websocket.accept()
        if len(tabs) >= max_sessions:
            await websocket.send_text(json.dumps({
                "type": "full",
                "message": f"The playground server is full ({max_sessions} tabs are open); "
                           f"close a tab and reload.",
                "messageKo": f"플레이그라운드 서버가 꽉 찼습니다(탭 {max_sessions}개가 열려 "
                             f"있습니다). 탭 하나를 닫고 새로 고침하세요."}))
            await websocket.close(code=1013)
            return
        tab = Tab(Session())
        tabs.add(tab)
        if capacity.task is None:
            capacity.task = asyncio.get_running_loop().create_task(capacity.watch())
        try:
            await _serve(websocket, tab, capacity, idle_seconds, workers)
        except WebSocketDisconnect:
            pass                                  # the tab closed while we were sending
        finally:
            tabs.discard(tab)

    app = Starlette(routes=[Route("/", index),
                            WebSocketRoute("/ws", socket),
                            Mount("/static", StaticFiles(directory=STATIC), name="static")])
    app.state.sessions = tabs
    app.state.capacity = capacity
    app.state.workers = workers
    return OwnPageOnly(app, hosts)


def _no_constant(name):
    """JSON has no Infinity or NaN (Python's json reads them unless told not to)."""
    raise ValueError(Said(f"{name} is not a number in JSON; settings take finite numbers",
                          f"{name}은 JSON의 수가 아닙니다. 설정에는 유한한 수를 넣으세요"))


def _literal_loopback(hostname):
    """localhost, or a literal loopback address (never a name looked up: a
    name that resolves to 127.0.0.1 is exactly DNS rebinding's trick)."""
    import ipaddress

    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


class OwnPageOnly:
    """The server answers only its own page: a request whose ``Host`` is not
    this machine's loopback address (or the ``--host`` it was started on) is
    refused with 403, which stops DNS rebinding; a WebSocket whose ``Origin``
    is not the page's own (another web site the student has open) is refused
    before it is accepted. A client that sends no Origin is not a browser
    page, and no web site can make it connect."""

    def __init__(self, app, hosts=()):
        self.app, self.hosts = app, {h.lower() for h in hosts}
        self.state = app.state

    def allowed(self, scope):
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        host = headers.get("host", "").strip().lower()
        hostname = host[1:host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
        if not (_literal_loopback(hostname) or hostname in self.hosts):
            return False
        origin = headers.get("origin")
        return origin is None or origin.lower() == f"http://{host}"

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket") and not self.allowed(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})  # 403 to the handshake
                return
            body = ("This playground answers only its own page (http://127.0.0.1:PORT/).\n"
                    "이 플레이그라운드는 자기 페이지(http://127.0.0.1:PORT/)에만 답합니다.\n"
                    ).encode()
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


async def _serve(websocket, tab, capacity, idle_seconds, workers):
    from starlette.websockets import WebSocketDisconnect

    session = tab.session
    loop = asyncio.get_running_loop()
    interval, next_frame = 1.0 / FRAMES_PER_SECOND, 0.0

    def run_in_threadpool(function, *args):
        return loop.run_in_executor(workers, function, *args)

    async def reply(**fields):
        # each text for the reader (error, warning, report, message) in both languages
        for name in ("error", "warning", "report", "message"):
            if fields.get(name):
                fields[name + "Ko"] = korean(fields[name])
        await websocket.send_text(json.dumps(fields, allow_nan=False))

    async def send_frame():
        await websocket.send_bytes(await run_in_threadpool(session.frame))

    await websocket.send_text(json.dumps(options()))
    await websocket.send_text(json.dumps(session.points_message()))
    await send_frame()
    while True:
        try:
            message = await asyncio.wait_for(websocket.receive(), timeout=idle_seconds)
        except asyncio.TimeoutError:
            await websocket.close(code=1001)
            return
        if message.get("type") == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None or len(text) > MAX_MESSAGE:
            await reply(type="error", message=Said(
                f"messages are JSON text of at most {MAX_MESSAGE // 1024} KB",
                f"메시지는 {MAX_MESSAGE // 1024} KB 이하의 JSON 텍스트여야 합니다"))
            continue
        try:
            request = json.loads(text, parse_constant=_no_constant)
            if not isinstance(request, dict) or not isinstance(request.get("type"), str):
                raise ValueError(Said("a message is a JSON object with a string 'type'",
                                      "메시지는 문자열 'type'을 가진 JSON 객체여야 합니다"))
        except (ValueError, RecursionError) as error:  # 20,000 nested [ is a RecursionError
            reason = "nested too deeply" if isinstance(error, RecursionError) else error
            await reply(type="error", message=Said(
                f"bad message: {reason}",
                f"잘못된 메시지: {'너무 깊이 중첩됨' if isinstance(error, RecursionError) else korean(error)}"))
            continue
        kind, ident = request["type"], request.get("id")
        try:
            if kind == "frame":
                if tab.notice:
                    await reply(type="full", message=tab.notice, running=False)
                    tab.notice = None
                if session.running:
                    wait = next_frame - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    next_frame = max(next_frame, loop.time()) + interval
                    await run_in_threadpool(session.step)
                    tab.served.append(loop.time())
                await send_frame()
                continue
            new_data, warning = False, None
            if kind == "config":
                problems = await run_in_threadpool(_configure, session, request.get("config"))
                if problems:
                    left = join(problems)
                    warning = Said(f"Part of this link was left out: {left}.",
                                   f"이 링크의 일부를 뺐습니다: {left.ko}.")
                new_data = True
            elif kind == "set":
                name = request.get("name")
                before = _data_settings(session.config)
                await run_in_threadpool(session.set, name, request.get("value"))
                new_data = _data_settings(session.config) != before
            elif kind == "play":
                refusal = None if session.running else capacity.refusal()
                if refusal:
                    raise ValueError(refusal)
                if not session.running:
                    tab.play(loop.time())
                session.running = session.message is None
            elif kind == "pause":
                session.running = False
            elif kind == "step":
                session.running = False
                await run_in_threadpool(session.step)
            elif kind == "reset":
                session.running = False
                await run_in_threadpool(session.reset)
            elif kind == "regenerate":
                await run_in_threadpool(session.regenerate)
                new_data = True
            elif kind == "upload":
                report = await run_in_threadpool(session.upload, request.get("csv"))
                await websocket.send_text(json.dumps(session.points_message()))
                await reply(type="ack", id=ident, ok=True, config=session.config,
                            running=False, report=report,
                            code=export_code(session.config, uploaded=session.uploaded))
                await send_frame()
                continue
            elif kind == "download":
                import base64

                content = await run_in_threadpool(session.model_file, request.get("format"))
                await reply(type="file", id=ident, name=f"playground.{request['format']}",
                            data=base64.b64encode(content).decode())
                continue
            elif kind == "edit":
                await run_in_threadpool(session.edit_weight, request.get("layer"),
                                        request.get("row"), request.get("column"),
                                        request.get("value"))
            else:
                valid = "config, set, play, pause, step, reset, regenerate, frame, edit, " \
                    "download, upload"
                raise ValueError(Said(f"unknown message type {kind!r}; valid: {valid}",
                                      f"모르는 메시지 종류 {kind!r}: {valid} 중 하나여야 합니다"))
        except (ValueError, TypeError) as error:
            await reply(type="ack", id=ident, ok=False, error=Said(str(error), korean(error)))
            continue
        except WebSocketDisconnect:
            return
        if new_data:
            await websocket.send_text(json.dumps(session.points_message()))
        await reply(type="ack", id=ident, ok=True, config=session.config,
                    running=session.running, warning=warning,
                    code=export_code(session.config, uploaded=session.uploaded))
        await send_frame()


_OPTIONS = {}


def options():
    """What the page's controls offer (the session's own lists), a 16x16
    thumbnail of each data set (base64 bytes, labels as -1..1 → 0..255), and
    each input feature's 16x16 map (the page greys the ones that are off)."""
    if not _OPTIONS:
        import base64

        import numpy as np

        from glassnet.playground import data, session

        thumbnails = []
        for name in data.DATASETS:
            points, labels = data.generate(name, 0.0, 0)
            cells = np.clip(((points + 6) / 12 * 16).astype(int), 0, 15)
            total = np.zeros((16, 16)), np.zeros((16, 16))
            k = data.classes(name)
            values = labels if k <= 2 else labels / max(1, k - 1) * 2 - 1
            np.add.at(total[0], (15 - cells[:, 1], cells[:, 0]), values)
            np.add.at(total[1], (15 - cells[:, 1], cells[:, 0]), 1)
            mean = np.where(total[1] > 0, total[0] / np.maximum(total[1], 1), 0)
            thumbnails.append(base64.b64encode(session._bytes(mean.ravel()).tobytes()).decode())
        cells = data.features(data.grid(session.CELL), data.FEATURES)
        feature_maps = [base64.b64encode(session._bytes(cells[:, i]).tobytes()).decode()
                        for i in range(cells.shape[1])]
        _OPTIONS.update(type="options", datasets=list(data.DATASETS),
                        classes=[data.classes(name) for name in data.DATASETS],
                        features=list(data.FEATURES),
                        learningRates=list(session.LEARNING_RATES),
                        regularizationRates=list(session.REGULARIZATION_RATES),
                        activations=list(session.HIDDEN_ACTIVATIONS),
                        optimizers=list(session.OPTIMIZERS), losses=list(session.LOSSES),
                        schedules=list(session.SCHEDULES), dropouts=list(session.DROPOUTS),
                        maxLayers=session.MAX_LAYERS, maxUnits=session.MAX_UNITS,
                        thumbnails=thumbnails, featureMaps=feature_maps)
    return _OPTIONS


def _configure(session, config):
    """A fresh session from a link's settings; returns what had to be left out."""
    from glassnet.playground.session import salvage_config

    kept, problems = salvage_config(config)
    fresh = Session(kept)
    session.__dict__.update(fresh.__dict__)
    return problems


def _data_settings(config):
    return tuple(config[k] for k in ("dataset", "noise", "trainRatio", "seed"))


def is_loopback(host):
    """Whether ``host`` is this machine only: localhost, or an address in
    127.0.0.0/8 or ::1 (a name is resolved; one that does not resolve is not)."""
    import ipaddress
    import socket

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback
                                   for a in addresses)


def serve(port=8765, host="127.0.0.1", open_browser=True, log=print):
    """Run the playground until Ctrl-C: prints its URL first, opens the browser
    unless ``open_browser`` is False. ``port=0`` picks a free port."""
    import socket

    import uvicorn

    if not is_loopback(host):
        print(f"warning: the playground listens on {host}, not only on this machine "
              f"(127.0.0.1): anyone who can reach it can use it", file=sys.stderr)
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)             # a browser that connects at once waits, not refused
    port = listener.getsockname()[1]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    log(url, flush=True) if log is print else log(url)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(create_app(hosts=[] if is_loopback(host) else [host]),
                            log_level="warning", ws_max_size=MAX_MESSAGE)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
    return url
