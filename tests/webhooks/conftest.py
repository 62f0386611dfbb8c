"""A webhook receiver on 127.0.0.1 (a real HTTP server in a thread) and fresh caches."""

import http.server
import threading
import time
from dataclasses import dataclass, field

import pytest


@dataclass
class Received:
    headers: dict
    body: bytes
    at: float


@dataclass
class Receiver:
    """Answers every POST with `status` after `delay` seconds and remembers what it got."""

    status: int = 200
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def events(self) -> list[str]:
        return [r.headers.get("Tousu-Event") for r in self.requests]


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(dict(self.headers), body, time.monotonic()))
            time.sleep(state.delay)
            self.send_response(state.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/tousu"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _fresh_subscription_cache():
    from tousu.webhooks.services import active_subscriptions

    active_subscriptions.cache_clear()
    yield
    active_subscriptions.cache_clear()


@pytest.fixture
def subscribe(db):
    from tousu.webhooks.models import EVENTS, Subscription

    def _subscribe(url, events=tuple(EVENTS), **kwargs):
        return Subscription.objects.create(
            name="测试接收方", url=url, events=list(events), **kwargs
        )

    return _subscribe
