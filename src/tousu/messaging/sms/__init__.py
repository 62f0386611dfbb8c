"""SMS to complainants behind one setting, TOUSU_SMS_BACKEND: `log` (the default: nothing leaves the
machine; the message, stored in the outbox, is the log administrators read), `aliyun` (阿里云短信,
alibabacloud-dysmsapi20170525) or `tencent` (腾讯云短信, tencentcloud-sdk-python-sms)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.conf import settings


class SendError(Exception):
    """The provider refused or could not be reached. `permanent`: retrying cannot help (a wrong
    number, a template the provider does not know, bad credentials)."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason[:500]
        self.permanent = permanent


@dataclass(frozen=True)
class Sms:
    phone: str  # 11-digit mainland mobile number
    text: str  # the rendered text (what the log backend keeps; what the provider's template says)
    template: str  # the provider's template code or id
    params: list  # [[name, value], ...] in the order the text uses them


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def backend_name() -> str:
    return (getattr(settings, "TOUSU_SMS_BACKEND", "") or "log").strip().lower()


def get_backend():
    name = backend_name()
    if name == "log":
        from .log import LogBackend

        return LogBackend()
    if name == "aliyun":
        from .aliyun import AliyunBackend

        return AliyunBackend.from_env()
    if name == "tencent":
        from .tencent import TencentBackend

        return TencentBackend.from_env()
    raise SendError(
        f"短信发送方式「{name}」无效；TOUSU_SMS_BACKEND 可选 log、aliyun、tencent", permanent=True
    )
