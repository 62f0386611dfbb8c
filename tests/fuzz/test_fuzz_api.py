"""Hostile input to /api/v1 (issue #10, point 6). Every POST/PUT/PATCH operation of the OpenAPI
document receives non-JSON bytes, invalid UTF-8, deep nesting, huge and non-finite numbers, NUL
bytes, lone surrogates, control characters, bidirectional overrides, markup and SQL, both as raw
bodies and as values in bodies shaped by the operation's own JSON schema; also hostile
Idempotency-Key headers, hostile path ids and hostile multipart uploads.

For every answer: never 5xx; every 4xx in the one error shape {code, message, details} with a
Chinese message; and a refused request leaves nothing behind (no complaint, event, party,
attachment, idempotency record, task, clock or link more or fewer than before).

tests/api/test_schemathesis.py checks conformance to the document with schemathesis's generic
generation; this module aims at the values that break databases and parsers. Deterministic: a
fixed seed (derandomize), no example database, bounded numbers of examples."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from fuzz_hostile import (
    CJK,
    HOSTILE_STRINGS,
    fuzz_settings,
    hostile_numbers,
    hostile_scalars,
    hostile_strings,
    hostile_values,
)
from hypothesis import example, given
from hypothesis import strategies as st

from tousu.cases.models import Attachment, Complaint, Event, IdempotencyRecord, Party, Task
from tousu.clocks.models import Clock
from tousu.processes.catalog import template_path
from tousu.processes.validation import load_file
from tousu.triage.models import CaseLink

pytestmark = pytest.mark.django_db

GENERIC = load_file(template_path("generic"))
WRITE_METHODS = ("post", "put", "patch")
COUNTED = (Complaint, Event, Party, Attachment, IdempotencyRecord, Task, Clock, CaseLink)
ERROR_KEYS = {"code", "message", "details"}


def _png() -> bytes:
    import struct
    import zlib

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


# --- the world the requests land in ---------------------------------------------------------


class World(dict):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return "<world>"


@pytest.fixture
def world(staff, register, act, settings, tmp_path):
    """Cases in several states (one with clocks and a task), a token whose user holds every
    non-departmental role, and the write operations read from the API's own OpenAPI document."""
    from tousu.accounts.services import create_token, create_user

    settings.MEDIA_ROOT = tmp_path / "media"
    user, _ = create_user(
        "fuzzer",
        roles=sorted(FUZZER_ROLES),
        password="pw-fuzzer-123",
    )
    registered = [register(f"第{i}件：产品质量有问题") for i in range(3)]
    assigned = act(
        act(register("物流太慢"), "officer", "judge_valid"),
        "officer",
        "assign_department",
        category="quality",
    )
    _, token = create_token(user)
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    document = client.get("/api/v1/openapi.json", headers=headers)
    assert document.status_code == 200
    document = document.json()
    operations = {
        (method, path): op
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if method in WRITE_METHODS
    }
    assert len(operations) >= 8, operations  # the document was read, not an empty one
    return World(
        client=client,
        headers=headers,
        components=document["components"]["schemas"],
        operations=operations,
        complaints=[c.pk for c in registered] + [assigned.pk],
        clocks=list(assigned.clocks.values_list("pk", flat=True)) or [1],
    )


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def _check(response, before: dict[str, int], what: str) -> None:
    status = response.status_code
    assert status < 500, f"{what} → {status}: {response.content[:500]!r}"
    if status >= 400:
        assert response["Content-Type"].startswith("application/json"), (what, response)
        body = response.json()
        assert set(body) == ERROR_KEYS, (what, body)
        assert isinstance(body["message"], str) and CJK.search(body["message"]), (what, body)
        assert isinstance(body["details"], dict), (what, body)
        for problem in body["details"].get("errors", []):  # each field's message, too
            assert CJK.search(problem["message"]), (what, problem)
        after = _counts()
        assert after == before, f"{what} → {status} left rows behind: {before} → {after}"


# --- paths ------------------------------------------------------------------------------------

ACTIONS = [
    "judge_valid", "judge_invalid", "resolve_on_spot", "add_note", "assign_department",
    "escalate", "propose_plan", "request_material", "archive", "rate_satisfied",
]  # fmt: skip
HOSTILE_IDS = ["0", "-1", "1.5", "1e3", str(2**31), str(2**53 + 1), str(2**63), str(10**30),
               "9" * 400, "%00", "%F0%9F%99%82", "1%00", "%E2%80%AE1", "abc", "1;DROP"]  # fmt: skip


def _path(template: str, world, draw_id, draw_name) -> str:
    def fill(match):
        name = match.group(1)
        if name == "complaint_id":
            return str(draw_id(world["complaints"]))
        if name == "clock_id":
            return str(draw_id(world["clocks"]))
        if name == "name":
            return draw_name()
        return "x"

    return re.sub(r"\{(\w+)\}", fill, template)


def _fill_path(data, world, template: str, hostile: bool = False) -> str:
    def draw_id(real):
        if hostile:
            return data.draw(st.one_of(st.sampled_from(HOSTILE_IDS), st.sampled_from(real)))
        return data.draw(st.sampled_from(real))

    def draw_name():
        if hostile:
            return data.draw(st.one_of(st.sampled_from(ACTIONS), st.sampled_from(HOSTILE_IDS)))
        return data.draw(st.sampled_from(ACTIONS))

    return _path(template, world, draw_id, draw_name)


# --- bodies -----------------------------------------------------------------------------------

# Raw bodies: not JSON, not UTF-8, or JSON that parsers choke on.
RAW_BODIES = [
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"0",
    b"\xff\xfe\xfd",
    b'{"content": "\xc0\xaf"}',  # overlong UTF-8
    b'{"content": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8
    b"\x00",
    b'{"a": 1',
    b"{'a': 1}",
    b'{"content": NaN, "channel": Infinity}',
    b'{"version": 1e309, "amount": -1e309}',
    b'{"version": ' + b"9" * 5000 + b"}",  # beyond the int-from-text limit
    b'{"version": 1' + b"0" * 400 + b"}",
    b'{"amount": 1e-400, "reason": "\\u0000"}',
    b'{"content": "\\ud800", "channel": "\\udfff"}',
    b'{"content": "\\u0000", "channel": "phone"}',
    b'{"channel": "phone", "channel": "web", "content": "dup"}',
    b"[" * 10000 + b"]" * 10000,
    b'{"a":' * 10000 + b"1" + b"}" * 10000,
    b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b', "version": 1}',
    b'{"fields": '
    + b'{"a":' * 3000
    + b"1"
    + b"}" * 3000
    + b', "channel": "phone", "content": "x"}',
    "\ufeff{}".encode(),
    '{"content": "投诉"}'.encode("utf-16"),
    '{"content": "投诉"}'.encode("gb18030"),
]

raw_bodies = st.one_of(
    st.sampled_from(RAW_BODIES),
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


def _schema_strategy(schema: dict, components: dict, name: str = "", depth: int = 0):
    """Values for a JSON schema: well-formed ones, ones just beyond each limit, and hostile ones."""
    if "$ref" in schema:
        return _schema_strategy(
            components[schema["$ref"].rsplit("/", 1)[-1]], components, name, depth
        )
    if "anyOf" in schema:
        return st.one_of([_schema_strategy(s, components, name, depth) for s in schema["anyOf"]])
    hints = HINTS.get(name)
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), hostile_strings)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        if not props:  # free-form: the flow's sector fields, an action's form data
            keys = st.one_of(st.sampled_from(FORM_KEYS), hostile_strings)
            return st.dictionaries(keys, hostile_values, max_size=4)
        required = set(schema.get("required", []))
        fields = {k: _schema_strategy(v, components, k, depth + 1) for k, v in props.items()}
        shaped = st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k in required},
            optional={k: v for k, v in fields.items() if k not in required},
        )
        extra = st.dictionaries(hostile_strings, hostile_values, min_size=1, max_size=2)
        return st.one_of(
            shaped, shaped, shaped, st.tuples(shaped, extra).map(lambda p: {**p[1], **p[0]})
        )
    if kind == "string":
        limit = schema.get("maxLength")
        options = [hostile_strings, st.text(max_size=min(limit or 50, 50))]
        if limit:
            options.append(st.just("长" * (limit + 1)))
        if schema.get("format") == "date-time":
            options.append(st.datetimes().map(lambda d: d.isoformat()))
            options.append(
                st.sampled_from(
                    [
                        "2026-02-30T25:00:00",
                        "0001-01-01T00:00:00Z",
                        "9999-12-31T23:59:59+14:00",
                        "2026-11-27T09:30:00+99:00",
                    ]
                )
            )
        if hints:
            options.append(st.sampled_from(hints))
        return st.one_of(options)
    if kind in ("integer", "number"):
        options = [hostile_numbers, hostile_strings, st.booleans()]
        if hints:
            options.append(st.sampled_from(hints))
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if lo is not None or hi is not None:
            options.append(st.integers(min_value=lo, max_value=hi))
        return st.one_of(options)
    if kind == "boolean":
        return st.one_of(st.booleans(), hostile_scalars)
    if kind == "array":
        items = _schema_strategy(schema.get("items", {}), components, name, depth + 1)
        top = min(schema.get("maxItems", 4), 4)
        options = [st.lists(items, max_size=top), hostile_scalars]
        if "maxItems" in schema:
            options.append(
                st.lists(items, min_size=schema["maxItems"] + 1, max_size=schema["maxItems"] + 1)
            )
        return st.one_of(options)
    return hostile_values


# Real values where a made-up one would only ever meet the first check.
HINTS = {
    "channel": ["phone", "web", "visit"],
    "process": ["generic", "hospital"],
    "category": ["quality", "transport"],
    "version": [1, 2, 3, 4],
    "content": ["产品质量有问题，要求退货"],
    "text": ["产品质量有问题，要求退货"],
    "amount": [1, 2.5],
    "reason": ["等待检测报告"],
    "other": [1, 2, 3],
    "duplicate": [1, 2, 3],
}
FORM_KEYS = [
    "target", "occurred_at", "note", "reason", "solution", "satisfaction", "explanation", "method",
    "category", "department", "departments", "comment", "due_on", "materials", "informed",
]  # fmt: skip

# Text that is within every limit and still hostile: what gets past a schema to the database.
HOSTILE_CHARS = ["\x00", "\x01", "\x1b", "\x7f", "\u202e", "\u2028", "\ufeff", "\ud800", "\udfff",
                 "<", ">", "'", '"', ";", "--", "%", "\\", "🙂", "𠀀", "é", "\r\n", "\t", "投"]  # fmt: skip
hostile_text = st.one_of(
    st.lists(
        st.one_of(st.sampled_from(HOSTILE_CHARS), st.characters(codec=None)),
        min_size=1,
        max_size=12,
    ).map("".join),
    st.sampled_from([s for s in HOSTILE_STRINGS if 0 < len(s) <= 40]),
)


def _text_within(schema: dict):
    lo, hi = schema.get("minLength", 0), min(schema.get("maxLength", 40), 40)
    return hostile_text.filter(lambda t: lo <= len(t.strip()) and len(t) <= hi)


def _valid_strategy(schema: dict, components: dict, name: str = ""):
    """Values the schema accepts (real codes where a made-up one would be refused first), with
    hostile text in every free-text field."""
    if "$ref" in schema:
        return _valid_strategy(components[schema["$ref"].rsplit("/", 1)[-1]], components, name)
    if "anyOf" in schema:
        return st.one_of([_valid_strategy(s, components, name) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "object":
        props = schema.get("properties", {})
        if not props:  # the flow's sector fields
            return st.fixed_dictionaries(
                {}, optional={"target": hostile_text, "occurred_at": st.just("2026-11-02")}
            )
        required = set(schema.get("required", []))
        fields = {k: _valid_strategy(v, components, k) for k, v in props.items()}
        return st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k in required},
            optional={k: v for k, v in fields.items() if k not in required},
        )
    if name in VALID_HINTS:  # mostly real codes, sometimes hostile text in their place
        hinted = st.sampled_from(VALID_HINTS[name])
        return st.one_of(hinted, hinted, hostile_text) if kind == "string" else hinted
    if kind == "string":
        if schema.get("format") == "date-time":
            return st.sampled_from(["2026-11-02T09:30:00+08:00", "2026-11-02T09:30:00"])
        return _text_within(schema)
    if kind == "integer":
        return st.integers(schema.get("minimum", 1), min(schema.get("maximum", 3), 3))
    if kind == "number":
        return st.floats(min_value=0.5, max_value=schema.get("maximum", 10))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = _valid_strategy(schema.get("items", {}), components, name)
        return st.lists(items, max_size=min(schema.get("maxItems", 3), 3))
    return st.none()


VALID_HINTS = {
    "channel": ["phone", "web"],
    "process": ["generic"],
    "category": ["quality", "transport"],
    "other": [1, 2, 3, 4],
    "duplicate": [1, 2, 3, 4],
    "amount": [1, 2],
}


FUZZER_ROLES = {"receiver", "officer", "leader", "verifier", "auditor", "admin"}


def _recent_complaints() -> list[int]:
    """The newest cases, the fixture's and those the fuzzing registered: fresh states to act on."""
    return list(Complaint.objects.order_by("-pk").values_list("pk", flat=True)[:8])


def _action_data(draw, action: str) -> dict:
    """The action's own form, filled, with hostile text in its text fields. The same draws whatever
    the action (which depends on the database): hypothesis must be able to replay an example."""
    texts = draw(st.lists(hostile_text, min_size=4, max_size=4))
    picks = draw(st.lists(st.integers(0, 99), min_size=8, max_size=8))
    data = {}
    for i, f in enumerate(GENERIC.action(action).form):
        pick = picks[i % len(picks)]
        if not f.required and pick % 3 == 0:
            continue
        choices = [c.value for c in f.choices] or ["x"]
        data[f.name] = {
            "text": texts[i % len(texts)],
            "textarea": texts[i % len(texts)],
            "choice": choices[pick % len(choices)],
            "multichoice": choices[: pick % len(choices) + 1],
            "boolean": bool(pick % 2),
            "integer": pick - 50,
            "date": ["2026-11-30", "2026-02-30", "\x00"][pick % 3],
            "datetime": "2026-11-30T09:00:00+08:00",
            "category": ["quality", "transport", "\x00"][pick % 3],
            "department": ["quality_management", "\x00"][pick % 2],
            "departments": [["quality_management"], ["\x00"], []][pick % 3],
            "users": [["officer"], ["\x00"]][pick % 2],
        }[f.type]
    return data


def _encode(body, how: str) -> bytes:
    if how == "ascii":
        return json.dumps(body, ensure_ascii=True, allow_nan=True).encode()
    # Lone surrogates as raw bytes: not valid UTF-8.
    return json.dumps(body, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


def _operations(world, content_type: str | None = None) -> list[tuple[str, str]]:
    """(method, path) of the write operations, those taking `content_type` if given."""
    return [
        key
        for key, op in world["operations"].items()
        if content_type is None or content_type in (op.get("requestBody") or {}).get("content", {})
    ]


def _send(world, method, path, body: bytes, content_type="application/json", headers=None):
    before = _counts()
    # generic(): the body goes out byte for byte, whatever charset the content type claims.
    response = world["client"].generic(
        method.upper(),
        path,
        data=body,
        content_type=content_type,
        headers={**world["headers"], **(headers or {})},
    )
    _check(response, before, f"{method.upper()} {path} {body[:200]!r}")
    return response


# --- tests ------------------------------------------------------------------------------------


@fuzz_settings(120)
@given(data=st.data(), body=raw_bodies)
def test_raw_hostile_bodies_to_every_write_operation(world, data, body):
    method, template = data.draw(st.sampled_from(_operations(world)))
    path = _fill_path(data, world, template)
    content_type = data.draw(
        st.sampled_from(
            [
                "application/json",
                "application/json",
                "application/json; charset=utf-16",
                "text/plain",
                "multipart/form-data",
                "multipart/form-data; boundary=xyz",
                "application/x-www-form-urlencoded",
            ]
        )
    )
    _send(world, method, path, body, content_type)


@fuzz_settings(120)
@given(data=st.data())
def test_schema_shaped_bodies_with_hostile_values(world, data):
    method, template = data.draw(st.sampled_from(_operations(world, "application/json")))
    schema = world["operations"][method, template]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    body = data.draw(_schema_strategy(schema, world["components"]), label="body")
    path = _fill_path(data, world, template)
    _send(world, method, path, _encode(body, data.draw(st.sampled_from(["ascii", "raw"]))))


@fuzz_settings(200)
@given(data=st.data())
def test_valid_shaped_bodies_with_hostile_text(world, data):
    """Bodies the schema accepts, with NUL, surrogates, control characters, bidirectional overrides,
    markup and SQL in their text, so that the text reaches the services and the database; one
    field in four replaced by a hostile value of any type."""
    method, template = data.draw(st.sampled_from(_operations(world, "application/json")))
    schema = world["operations"][method, template]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    body = data.draw(_valid_strategy(schema, world["components"]), label="body")
    if template.endswith("/actions/{name}"):
        # An action the case's state and the caller's roles allow, on its current version, with
        # its own form: so that the hostile text reaches the engine and the event log.
        # Indexes, not the rows themselves, are drawn: what hypothesis draws must not depend on
        # the database, which earlier examples changed.
        recent = _recent_complaints()
        complaint = Complaint.objects.get(pk=recent[data.draw(st.integers(0, 7)) % len(recent)])
        possible = [
            a.name for a in GENERIC.actions_from(complaint.state) if FUZZER_ROLES & set(a.roles)
        ] or ACTIONS
        action = possible[data.draw(st.integers(0, 19)) % len(possible)]
        path = f"/api/v1/complaints/{complaint.pk}/actions/{action}"
        body["version"] = complaint.version
        body["data"] = _action_data(data.draw, action)
    else:
        path = _fill_path(data, world, template)
    if body and data.draw(st.integers(0, 3)) == 0:
        body[data.draw(st.sampled_from(sorted(body)))] = data.draw(hostile_values)
    _send(world, method, path, _encode(body, data.draw(st.sampled_from(["ascii", "raw"]))))


@fuzz_settings(50)
@given(
    key=st.one_of(
        hostile_strings,
        st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1),
    ),
    body=st.sampled_from(
        [
            {"channel": "phone", "content": "产品质量有问题"},
            {"channel": "phone", "content": "产品质量有问题\x00"},
            {"channel": "nope", "content": "产品质量有问题"},
        ]
    ),
)
@example(key="k" * 101, body={"channel": "phone", "content": "产品质量有问题"})
@example(key="a\x00b", body={"channel": "phone", "content": "产品质量有问题"})
@example(key="\r\nX-Injected: 1", body={"channel": "phone", "content": "产品质量有问题"})
def test_hostile_idempotency_keys(world, key, body):
    headers = {"Idempotency-Key": key.encode("utf-8", "surrogatepass").decode("latin-1")}
    for _ in range(2):  # the retry replays or refuses; neither adds a second complaint
        _send(world, "post", "/api/v1/complaints", _encode(body, "ascii"), headers=headers)


@fuzz_settings(60)
@given(data=st.data())
def test_hostile_path_ids(world, data):
    method, template = data.draw(
        st.sampled_from([key for key in _operations(world) if "{" in key[1]])
    )
    path = _fill_path(data, world, template, hostile=True)
    body = data.draw(
        st.sampled_from([{"version": 1, "data": {}}, {"amount": 1, "reason": "理由"}, {"other": 1}])
    )
    _send(world, method, path, _encode(body, "ascii"))


BOUNDARY = "fuzz7MA4YWxkTrZu0gW"


def _multipart(file_name: str, content: bytes, fields: dict[str, str]) -> bytes:
    """A multipart body written by hand: file names and values go out as they are (quotes, CR LF,
    NUL, invalid UTF-8), which the test client's encoder would refuse or clean."""

    def raw(text: str) -> bytes:
        return text.encode("utf-8", "surrogatepass")

    out = b""
    for key, value in fields.items():
        out += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
            + raw(value)
            + b"\r\n"
        )
    out += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        + raw(file_name)
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return out


FILE_NAMES = ["照片.png", "a.pdf", "", "..", "../../etc/passwd", "x" * 300, 'a".png', "a\r\nb.png"]


@fuzz_settings(60)
@given(
    data=st.data(),
    name=st.one_of(st.sampled_from(FILE_NAMES), hostile_strings),
    content=st.one_of(
        st.just(PNG),
        st.just(b""),
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"%PDF-1.4\n\x00",
                b"[" * 10000 + b"]" * 10000,  # YAML for the definition check: nesting
                b"version: " + b"9" * 5000,  # beyond the int-from-text limit
                b'name: "a\\0b"\nversion: 1\n',  # NUL through a YAML escape
                b"- &a [*a, *a]\n",
            ]
        ),
    ),
    fields=st.dictionaries(
        st.sampled_from(["kind", "is_public", "other"]),
        st.one_of(hostile_strings, st.sampled_from(["evidence", "document", "true", "1"])),
        max_size=3,
    ),
)
@example(data=None, name="a\x00b.png", content=PNG, fields={})
@example(data=None, name="\u202egnp.exe", content=PNG, fields={"kind": "evidence\x00"})
@example(data=None, name="\ud800.png", content=PNG, fields={"is_public": "true"})
def test_hostile_multipart_uploads(world, data, name, content, fields):
    targets = _operations(world, "multipart/form-data")
    assert len(targets) >= 2, targets  # attachments, process validation
    if data is None:  # an explicit example: the attachment upload
        method, template = next((m, t) for m, t in targets if "attachments" in t)
        path = _path(template, world, lambda real: real[-1], lambda: "x")
    else:
        method, template = data.draw(st.sampled_from(targets))
        path = _fill_path(data, world, template)
    _send(
        world,
        method,
        path,
        _multipart(name, content, fields),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
