"""The default SMS backend: nothing is sent; the outbox row (text, number, time) is the log that
administrators read in 系统管理 → 消息."""

from __future__ import annotations

from . import Sms


class LogBackend:
    name = "log"

    def send(self, sms: Sms, message_id: int) -> str:
        return f"log-{message_id}"
