"""The playground: a small network trains live on 2-D data in the browser,
TensorFlow Playground's page with glassnet training behind it.

    glassnet playground [--port N] [--host 127.0.0.1] [--no-browser]

``serve()`` runs the server (it needs the playground extra: pip install
'glassnet[playground]'); ``show()`` embeds a running one in a Jupyter notebook.
"""

from __future__ import annotations

__all__ = ["serve", "show"]


def serve(port=8765, host="127.0.0.1", open_browser=True):
    """Start the playground server (blocks until Ctrl-C); prints its URL first."""
    try:
        from glassnet.playground.server import serve as _serve
    except ImportError as error:  # pragma: no cover - the message is the point
        raise ImportError(f"the playground needs its web server: pip install "
                          f"'glassnet[playground]' ({error})") from None
    return _serve(port=port, host=host, open_browser=open_browser)


def show(port=8765, host="127.0.0.1", width="100%", height=820):
    """The playground in a notebook cell: starts the server in a background
    thread (once per port) and returns an IFrame of its page."""
    import threading

    from IPython.display import IFrame

    key = (host, port)
    if key not in _running:
        thread = threading.Thread(target=serve, kwargs={"port": port, "host": host,
                                                        "open_browser": False}, daemon=True)
        thread.start()
        _running[key] = thread
    return IFrame(f"http://{host}:{port}/", width=width, height=height)


_running = {}
