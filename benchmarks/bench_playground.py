"""The playground's targets (issue 14), measured in headless Chromium.

    python benchmarks/bench_playground.py [--only speed,learning,load] [--tabs 20]
                                          [--seconds 15] [--json out.json]

- speed: frames per second of one tab playing TensorFlow Playground's default
  network (circle, x1 x2 → 4 → 2, tanh, batch 10) and a 6 × 8 network (with x1 x2,
  and with all 7 features), as the page
  counts them (every frame redraws the output map and every neuron's map); the
  time from opening the page to its first frame; the largest frame payload
  (8 layers × 16 neurons on a 5-class set, the largest frame there is).
- learning: seconds of play until the test loss is below 0.05 on circle, and below
  0.1 on spiral with 6 features and 3 layers of 8.
- load: --tabs tabs in one browser, opened together, each pressing play; for
  --seconds each tab's frames per second (epochs advanced / seconds), how many the
  server turned away as full, and the server's memory (RSS) before, while and after.

The server runs in this process (uvicorn on a thread) so its memory can be read;
the browser is Debian's chromium. These machines are shared: the load average is
printed before and after.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import statistics
import sys
import threading
import time

CHROMIUM = "/usr/bin/chromium"
NO_THROTTLING = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"]


def rss_mb():
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_server():
    import uvicorn

    from glassnet.playground.server import create_app

    app = create_app()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return app, server, f"http://127.0.0.1:{listener.getsockname()[1]}/"


def open_page(browser, url, viewport=(1280, 800)):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_function("window.playground && playground.state().config", polling=10)
    return page, time.perf_counter() - started, errors


def played_fps(page, seconds):
    """Frames per second while playing: epochs advanced over wall time (one frame
    per epoch), and the page's own counter."""
    page.evaluate("playground.play()")
    time.sleep(1.0)                                  # past the first frames
    e0, t0 = page.evaluate("playground.state().epoch"), time.perf_counter()
    time.sleep(seconds)
    e1, t1 = page.evaluate("playground.state().epoch"), time.perf_counter()
    own = page.evaluate("playground.state().fps")
    page.evaluate("playground.pause()")
    return (e1 - e0) / (t1 - t0), own


def speed(browser, url, seconds, result):
    firsts = []
    for _ in range(3):
        page, first, errors = open_page(browser, url)
        firsts.append(first)
        page.close()
    result["first_frame_s"] = firsts
    for name, hash_ in (("default", ""), ("6x8", "#hidden=8,8,8,8,8,8"),
                        ("6x8_7features", "#hidden=8,8,8,8,8,8&features=x1,x2,x1^2,x2^2,x1x2,"
                                          "sin(x1),sin(x2)")):
        page, _, errors = open_page(browser, url + hash_)
        rate, own = played_fps(page, seconds)
        result[f"fps_{name}"] = rate
        result[f"fps_{name}_page"] = own
        result[f"console_errors_{name}"] = errors
        page.close()
    from glassnet.playground.session import Session

    largest = 0
    for dataset in ("circle", "blobs-3", "blobs-5", "spiral-3"):
        session = Session({"dataset": dataset, "hidden": [16] * 8,
                           "features": ["x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)"]})
        session.step()
        largest = max(largest, len(session.frame()))
    result["largest_frame_bytes"] = largest
    print(f"first frame: {', '.join(f'{t:.2f}' for t in firsts)} s; default network "
          f"{result['fps_default']:.1f} frames/s (page: {result['fps_default_page']:.0f}); "
          f"6 x 8: {result['fps_6x8']:.1f} (page: {result['fps_6x8_page']:.0f}), with all 7 "
          f"features {result['fps_6x8_7features']:.1f} (page: "
          f"{result['fps_6x8_7features_page']:.0f}); "
          f"largest frame {largest:,} bytes", flush=True)


def learning(browser, url, result):
    for name, hash_, target in (
            ("circle", "", 0.05),
            ("spiral", "#dataset=spiral&features=x1,x2,x1^2,x2^2,sin(x1),sin(x2)&hidden=8,8,8",
             0.1)):
        page, _, _ = open_page(browser, url + hash_)
        started = time.perf_counter()
        page.evaluate("playground.play()")
        try:
            page.wait_for_function(f"playground.state().testLoss !== null && "
                                   f"playground.state().testLoss < {target}",
                                   timeout=60000, polling=20)
            took = time.perf_counter() - started
        except Exception:
            took = None
        state = page.evaluate("playground.state()")
        page.close()
        result[f"learn_{name}_s"] = took
        print(f"{name}: test loss < {target} after "
              f"{'more than 60' if took is None else f'{took:.1f}'} s of play "
              f"(epoch {state['epoch']}, test loss {state['testLoss']:.3f})", flush=True)


def load(browser, app, url, tabs, seconds, result):
    page, _, _ = open_page(browser, url)            # one tab first, so imports are warm
    page.evaluate("playground.play()")
    time.sleep(2)
    page.close()
    wait_empty(app)
    baseline = rss_mb()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pages = [context.new_page() for _ in range(tabs)]
    for i, p in enumerate(pages):
        p.goto(url + f"#seed={i}")
    for p in pages:
        p.wait_for_function("window.playground && (playground.state().config || "
                            "playground.state().message)", polling=50)
    played = []
    for p in pages:
        played.append(p.evaluate("playground.play().then(() => true, () => false)"))
    time.sleep(2)
    start = [p.evaluate("playground.state().epoch") for p in pages]
    t0 = time.perf_counter()
    time.sleep(seconds)
    t1 = time.perf_counter()
    end = [p.evaluate("playground.state()") for p in pages]
    during = rss_mb()
    rates = [(s["epoch"] - e) / (t1 - t0) for s, e in zip(end, start)]
    training = [r for r, s in zip(rates, end) if s["running"]]
    full = [s["message"] for s in end if not s["running"]]
    context.close()
    wait_empty(app)
    time.sleep(1.0)                                   # the server's own clean-up
    after = rss_mb()
    result.update(load_tabs=tabs, load_training=len(training), load_full=len(full),
                  load_fps=rates, load_rss_mb=[baseline, during, after],
                  load_full_message=full[0] if full else None)
    print(f"{tabs} tabs: {len(training)} trained, {len(full)} were told the server is full"
          + (f" ({full[0]!r})" if full else ""), flush=True)
    if training:
        print(f"  frames/s of the training tabs: min {min(training):.1f}, median "
              f"{statistics.median(training):.1f}, max {max(training):.1f}", flush=True)
    print(f"  server RSS: {baseline:.0f} MB before, {during:.0f} MB with the tabs, "
          f"{after:.0f} MB after they closed", flush=True)


def wait_empty(app):
    for _ in range(100):
        if not app.state.sessions:
            break
        time.sleep(0.1)
    gc.collect()
    time.sleep(0.5)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="speed,learning,load")
    parser.add_argument("--tabs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    print(f"load average before: {', '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"{os.cpu_count()} cores", flush=True)
    app, server, url = start_server()
    result = {"cores": os.cpu_count()}
    parts = args.only.split(",")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=NO_THROTTLING)
        if "speed" in parts:
            speed(browser, url, min(args.seconds, 5.0), result)
        if "learning" in parts:
            learning(browser, url, result)
        if "load" in parts:
            load(browser, app, url, args.tabs, args.seconds, result)
        browser.close()
    server.should_exit = True
    print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)


if __name__ == "__main__":
    sys.exit(main())
