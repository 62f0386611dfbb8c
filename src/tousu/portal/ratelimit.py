"""Abuse protection for the public portal: per-address rate limits counted in the database (so every
web process sees the same counts), one-time form tokens, and a simple offline challenge (an
arithmetic question in Chinese) once an address looks suspicious."""

from __future__ import annotations

import random
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from tousu.accounts.security import client_address as address

from .models import Hit


@dataclass(frozen=True)
class Limit:
    bucket: str
    count: int  # this many in the window is the limit
    minutes: int

    @property
    def window_text(self) -> str:
        return f"{self.minutes} 分钟" if self.minutes < 60 else f"{self.minutes // 60} 小时"


# Defaults; an installation may change any of them with TOUSU_PORTAL_LIMITS = {"name": (count, minutes)}.
# Many patients' families share a hospital's Wi-Fi or a mobile carrier's address, so the hard limits
# are generous and the challenge comes first.
_DEFAULTS = {
    "submit": ("submit", 20, 60),  # submissions per address and hour: refused beyond
    "challenge": ("submit", 3, 60),  # submissions per address and hour before the challenge
    "suspect": ("suspect", 1, 60),  # honeypot or too-fast forms before the challenge
    "track_fail": ("track_fail", 10, 15),  # failed lookups per address: throttled beyond
    "track_fail_pair": ("track_fail_pair", 5, 15),  # failed lookups of one number from one address
    # Failed lookups of one tracking number from anywhere: beyond, the phone number no longer opens
    # it (the access code still does, from any address).
    "track_fail_number": ("track_fail_no", 30, 60),
    "respond": ("respond", 30, 60),  # material and ratings per address and hour
}


def limit(name: str) -> Limit:
    bucket, count, minutes = _DEFAULTS[name]
    override = getattr(settings, "TOUSU_PORTAL_LIMITS", {}).get(name)
    if override:
        count, minutes = override
    return Limit(bucket, count, minutes)


def client_address(request) -> str:
    """The client's address: the same rule as the staff login's (TOUSU_TRUSTED_PROXIES)."""

    return address(request)


def count(lim: Limit, key: str) -> int:
    since = timezone.now() - timedelta(minutes=lim.minutes)
    return Hit.objects.filter(bucket=lim.bucket, key=key[:64], at__gte=since).count()


def reached(lim: Limit, key: str) -> bool:
    return count(lim, key) >= lim.count


def hit(bucket: str, key: str) -> None:
    Hit.objects.create(bucket=bucket, key=key[:64])
    if random.random() < 0.02:  # now and then, forget what no limit looks at any more
        purge()


def purge(older_than: timedelta = timedelta(days=1)) -> int:
    deleted, _ = Hit.objects.filter(at__lt=timezone.now() - older_than).delete()
    return deleted


# --- one-time form tokens ---------------------------------------------------------------------

FORM_TOKEN_SALT = "tousu.portal.form"
FORM_TOKEN_MAX_AGE = 6 * 3600  # a complaint may take a while to write, not a day


def new_form_token() -> str:
    return signing.TimestampSigner(salt=FORM_TOKEN_SALT).sign(
        f"{secrets.token_urlsafe(18)}.{int(time.time())}"
    )


def new_form() -> tuple[str, str]:
    """A new form's (signed token for the page, the token itself for binding a challenge)."""
    signed = new_form_token()
    token, _ = open_form_token(signed)
    return signed, token


class TokenError(Exception):
    pass


def open_form_token(signed: str) -> tuple[str, float]:
    """The token and when its form was shown; TokenError when forged or expired."""
    try:
        value = signing.TimestampSigner(salt=FORM_TOKEN_SALT).unsign(
            signed or "", max_age=FORM_TOKEN_MAX_AGE
        )
    except signing.SignatureExpired:
        raise TokenError("页面打开已超过 6 小时，请重新提交（您填写的内容已保留）") from None
    except signing.BadSignature:
        raise TokenError("页面已失效，请重新提交（您填写的内容已保留）") from None
    token, _, shown = value.rpartition(".")
    return token, float(shown)


# --- the challenge ----------------------------------------------------------------------------

CHALLENGE_SALT = "tousu.portal.challenge"
DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    if n < 10:
        return DIGITS[n]
    tens, ones = divmod(n, 10)
    return f"{'' if tens == 1 else DIGITS[tens]}十{DIGITS[ones] if ones else ''}"


def parse_answer(text: str) -> int | None:
    text = (text or "").strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if re.fullmatch(r"-?\d{1,3}", text):
        return int(text)
    for n in range(0, 100):
        if chinese_number(n) == text:
            return n
    return None


def _answer_digest(bind: str, answer: int) -> str:
    return salted_hmac(CHALLENGE_SALT, f"{bind}:{answer}", algorithm="sha256").hexdigest()


def new_challenge(bind: str) -> str:
    """A signed question bound to one form token, so that one solved question cannot be replayed on
    other forms. The page carries the question and a keyed hash of (token, answer), never the
    answer: decoding the field tells a robot nothing it could not compute from the question."""
    rng = secrets.SystemRandom()
    kind = rng.choice(("加", "减", "乘"))
    if kind == "加":
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        answer = a + b
    elif kind == "减":
        a, b = rng.randint(10, 19), rng.randint(2, 9)
        answer = a - b
    else:
        a, b = rng.randint(2, 5), rng.randint(2, 4)
        answer = a * b
    question = f"{chinese_number(a)}{kind}{chinese_number(b)}等于几？"
    return signing.dumps({"q": question, "h": _answer_digest(bind, answer)}, salt=CHALLENGE_SALT)


def _open_challenge(signed: str) -> dict | None:
    try:
        return signing.loads(signed or "", salt=CHALLENGE_SALT, max_age=3600)
    except signing.BadSignature:
        return None


def challenge_question(signed: str) -> str:
    data = _open_challenge(signed)
    return data["q"] if data else ""


def check_challenge(signed: str, answer: str, bind: str) -> bool:
    data = _open_challenge(signed)
    value = parse_answer(answer)
    if not data or value is None or not isinstance(data.get("h"), str):
        return False
    return constant_time_compare(data["h"], _answer_digest(bind, value))
