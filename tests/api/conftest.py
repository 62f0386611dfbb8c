"""API fixtures: a client per user (optionally with a scoped token), and fresh webhook caches."""

import json
import struct
import zlib

import pytest
from django.test import Client

from tousu.accounts.services import create_token


def _png() -> bytes:
    """A real 1×1 PNG: attachments are checked by content, not by name."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00"))
        + chunk(b"IEND", b"")
    )


PNG = _png()
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def png() -> bytes:
    return PNG


@pytest.fixture
def pdf() -> bytes:
    return PDF


@pytest.fixture
def client_with():
    """A client for a raw token: client_with(raw)."""
    return ApiClient


class ApiClient:
    def __init__(self, token: str):
        self.token = token
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path, **params):
        return self.client.get(path, params, headers=self.headers)

    def post(self, path, body=None, raw: str | None = None, idempotency_key: str | None = None):
        data = raw if raw is not None else json.dumps(body or {}, ensure_ascii=False)
        headers = {
            **self.headers,
            **({"Idempotency-Key": idempotency_key} if idempotency_key else {}),
        }
        return self.client.post(path, data=data, content_type="application/json", headers=headers)

    def upload(self, path, files: dict, **fields):
        return self.client.post(path, {**files, **fields}, headers=self.headers)


@pytest.fixture
def client_for(staff):
    """client_for("officer") or client_for(user, roles=[...], departments=[...])."""

    def _client(who="officer", **scope):
        user = staff[who] if isinstance(who, str) else who
        _, raw = create_token(user, **scope)
        return ApiClient(raw)

    return _client


@pytest.fixture(autouse=True)
def _fresh_subscription_cache():
    from tousu.webhooks.services import active_subscriptions

    active_subscriptions.cache_clear()
    yield
    active_subscriptions.cache_clear()
