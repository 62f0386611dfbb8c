"""Fixtures for the public portal: the generic flow with its staff (tests/conftest.py), the published
contacts, a client that fills the submit form, and Debian's Chromium at a phone's size."""

import io
import re
from types import SimpleNamespace

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--lang=zh-CN",  # the browser's own words (file picker, date input) in Chinese, as on a phone
]


PHONE = {"width": 390, "height": 844}


def png_bytes(size=(8, 8)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


# The start of a Linux executable: what an .exe renamed to .jpg looks like from the inside.
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert match, "表单中没有 token"
    return match.group(1)


def challenge_of(response) -> str:
    match = re.search(r'name="challenge" value="([^"]*)"', response.content.decode())
    return match.group(1) if match else ""


def solve(response) -> str:
    """The answer to the question shown on the page, worked out as a person would: from the words
    of the question (the form carries no answer)."""
    from tousu.portal.ratelimit import parse_answer

    question = re.search(r'<div class="q">([^<]+)</div>', response.content.decode()).group(1)
    a, op, b = re.fullmatch(r"(.+?)([加减乘])(.+?)等于几？", question).groups()
    a, b = parse_answer(a), parse_answer(b)
    return str({"加": a + b, "减": a - b, "乘": a * b}[op])


FORM = {
    "name": "张三",
    "phone": "13812345678",
    "content": "网上下单承诺48小时发货，结果拖了一周还没发。",
    "request": "尽快发货并说明原因",
    "f_target": "网店客服",
    "consent": "on",
}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's Chromium; Playwright's own browser download is not available offline.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": PHONE,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
    }


@pytest.fixture(autouse=True)
def _own_media(settings, tmp_path):
    # Each test sees only the files it stored.
    settings.MEDIA_ROOT = tmp_path / "attachments"


@pytest.fixture(autouse=True)
def _people_take_their_time(monkeypatch):
    # Tests fill the form in milliseconds; the "too fast" check has its own test.
    monkeypatch.setattr("tousu.portal.views.MIN_FILL_SECONDS", 0)


@pytest.fixture
def notice(db):
    from tousu.portal.models import PublicNotice

    return PublicNotice.objects.create(
        display_name="江阴市人民医院",
        complaint_phone="0510-86801234",
        duty_phone="0510-86809999",
        mailbox="门诊大厅一楼院长信箱",
        email="tousu@example.org",
        reception_place="门诊楼一楼投诉接待室（医患关系办公室）",
        supervisor_name="江阴市卫生健康委员会",
        supervisor_phone="0510-86860000",
        supervisor_address="江阴市澄江中路 1 号",
    )


@pytest.fixture
def submit(client, generic, staff, notice):
    """submit(**changes, files=[...]) fills the form like a person (a fresh page, its token)."""

    def _submit(files=(), token=None, follow=False, client_=None, **changes):
        c = client_ or client
        data = {**FORM, **changes, "token": token or token_of(c.get("/"))}
        data = {k: v for k, v in data.items() if v is not None}
        if files:
            data["files"] = list(files)
        return c.post("/", data, follow=follow)

    return _submit


@pytest.fixture
def kit():
    """The helpers above for test modules (with --import-mode=importlib they cannot import them)."""
    return SimpleNamespace(
        FORM=dict(FORM),
        ELF=ELF,
        png=png_bytes,
        token_of=token_of,
        challenge_of=challenge_of,
        solve=solve,
    )
