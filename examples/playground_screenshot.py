"""The README's playground pictures: the page in headless Chromium at 1280x800
after the default network trained for 150 epochs, in English (playground.png)
and in Korean (playground_ko.png, the Korean README's, on the 3-class blobs);
with --phone also the spiral at phone width (390 px), to check the layout.

    python examples/playground_screenshot.py [docs/images] [--phone]
"""

import socket
import sys
import threading
import time

import uvicorn
from playwright.sync_api import sync_playwright

from glassnet.playground.server import create_app

arguments = [a for a in sys.argv[1:] if a != "--phone"]
out = arguments[0] if arguments else "docs/images"
phone = "--phone" in sys.argv
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True).start()
while not server.started:
    time.sleep(0.05)
url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
    desktop = {"width": 1280, "height": 800}
    for name, viewport, hash_, language in (
            ("playground.png", desktop, "", "en"),
            ("playground_ko.png", desktop, "#dataset=blobs-3&hidden=4,3", "ko"),
            ("playground_phone.png", {"width": 390, "height": 1400},
             "#dataset=spiral&hidden=8,8,8&features=x1,x2,x1^2,x2^2,x1x2,sin(x1),sin(x2)",
             "en"))[:3 if phone else 2]:
        page = browser.new_page(viewport=viewport)
        page.add_init_script(f"localStorage.setItem('glassnet-playground-language', '{language}')")
        page.goto(url + hash_)
        page.wait_for_function("window.playground && playground.state().config")
        page.evaluate("playground.play()")
        page.wait_for_function("playground.state().epoch >= 150", timeout=60000)
        page.evaluate("playground.pause()")
        page.check("#show-test")
        time.sleep(0.3)
        page.screenshot(path=f"{out}/{name}")
        print(f"wrote {out}/{name}:", page.evaluate("JSON.stringify(playground.state())")[:200])
    browser.close()
server.should_exit = True
