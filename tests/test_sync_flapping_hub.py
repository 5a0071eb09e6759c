"""The hub flaps: half the requests are dropped, the others answered slowly.

A small HTTP proxy on 127.0.0.1 sits between the kiosk's real client and the
embedded hub. For each request, from a seeded random draw:

* 25 %: dropped before the hub sees it (503);
* 25 %: the hub processes it, and the answer is lost on the way back (502):
  the kiosk cannot know the hub has the registration;
* 50 %: answered slowly; a third of these after the kiosk's timeout
  (the hub has it, the kiosk gave up waiting).

The sync worker must still deliver every registration, and the hub must
hold each exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import sqlite3
import time
from collections import Counter
from datetime import datetime

import httpx
import pytest

from drivers.hub.http_client import HttpHubClient
from kiosk.clock import SystemClock
from kiosk.domain import VIETNAM_TZ
from offline_cache.store import OutboxStore
from offline_cache.sync import SyncWorker
from server.embedded import serve_app_in_thread, start_embedded_hub
from test_outbox_store import KEY, make_registration

COUNT = 12
# Seconds. A slow answer comes after SLOW (in time) or after TOO_SLOW (past
# the kiosk's timeout); apart so that a loaded test machine does not blur them.
CLIENT_TIMEOUT = 1.0
SLOW, TOO_SLOW = 0.05, 1.3
DRAIN_LIMIT = 150.0  # seconds; a bound on the wait, not a timing under test


class FlappingProxy:
    """An ASGI app forwarding to `upstream`, dropping and delaying as the docstring says."""

    def __init__(self, upstream: str, seed: int) -> None:
        self.upstream = upstream
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        roll = self.rng.random()
        delay = TOO_SLOW if self.rng.random() < 1 / 3 else SLOW
        if roll < 0.25:
            self.counts["dropped"] += 1
            await self._reply(send, 503, b'{"error":"dropped","reason":"flapping"}', [])
            return
        url = self.upstream + scope["raw_path"].decode() + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        headers = [(k.decode(), v.decode("latin-1")) for k, v in scope["headers"] if k.lower() not in (b"host", b"content-length")]
        async with httpx.AsyncClient(timeout=10.0) as client:
            answer = await client.request(scope["method"], url, headers=headers, content=body)
        if roll < 0.5:
            self.counts["answer_lost"] += 1
            await self._reply(send, 502, b'{"error":"lost","reason":"flapping"}', [])
            return
        self.counts["slow_timeout" if delay > CLIENT_TIMEOUT else "slow"] += 1
        self.counts[scope["path"]] += 1
        await asyncio.sleep(delay)
        passed = [(k.encode(), v.encode("latin-1")) for k, v in answer.headers.items() if k.lower() in ("content-type", "retry-after", "date")]
        await self._reply(send, answer.status_code, answer.content, passed)

    @staticmethod
    async def _reply(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        if not any(k == b"content-type" for k, _ in headers):
            headers = [*headers, (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.mark.timeout(240)
def test_a_flapping_slow_hub_gets_every_registration_exactly_once(tmp_path):
    hub = start_embedded_hub(tmp_path / "hub.sqlite3", rate_limit_per_minute=100_000)
    proxy_app = FlappingProxy(hub.url, seed=20261122)
    proxy = serve_app_in_thread(proxy_app)
    client = HttpHubClient(proxy.url, hub.kiosk_id, hub.kiosk_secret, timeout=CLIENT_TIMEOUT)
    store = OutboxStore(tmp_path / "outbox.sqlite3", KEY, hub.kiosk_id, clock=SystemClock())
    worker = SyncWorker(
        store, client, SystemClock(), batch_size=5, base_delay=0.02, max_delay=0.2, ping_interval=0.1, poll_interval=0.05
    )
    try:
        keys = [f"flap-{n:05d}" for n in range(COUNT)]
        for n, key in enumerate(keys):
            reg = make_registration(key, kiosk_id=hub.kiosk_id, department="NOI")
            store.add(dataclasses.replace(reg, service_code="KB.NOI", created_at=datetime.now(VIETNAM_TZ)))
        worker.start()
        deadline = time.monotonic() + DRAIN_LIMIT
        while store.pending_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.pending_count() == 0, f"not drained: {store.pending_count()} left, proxy {dict(proxy_app.counts)}"
        assert store.rejected() == []
        assert worker.stop(timeout=10)
    finally:
        worker.stop(timeout=10)
        store.close()
        client.close()
        proxy.stop()
        hub.stop()

    # Every kind of trouble happened, and the hub still has each visit once.
    assert {"dropped", "answer_lost", "slow", "slow_timeout", "/api/v1/registrations"} <= set(proxy_app.counts), proxy_app.counts
    with sqlite3.connect(tmp_path / "hub.sqlite3") as db:
        at_hub = [row[0] for row in db.execute("SELECT key FROM registrations")]
    db.close()
    assert sorted(at_hub) == keys
