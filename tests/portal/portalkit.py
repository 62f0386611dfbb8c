"""Helpers for the portal tests (imported by name: tests/ has no packages)."""

import io
import re

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


FORM = {
    "name": "张三",
    "phone": "13812345678",
    "content": "网上下单承诺48小时发货，结果拖了一周还没发。",
    "request": "尽快发货并说明原因",
    "f_target": "网店客服",
    "consent": "on",
}
