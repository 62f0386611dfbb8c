"""A real SMTP server on a local port (aiosmtpd), for the e-mail tests: it keeps what it receives,
or answers with the failure a test sets."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self):
        self.received = []  # (envelope recipients, parsed message)
        self.fail_with: str | None = None  # e.g. "451 4.3.0 服务器忙，请稍后再试"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_with:
            return self.fail_with
        self.received.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"

    def bodies_to(self, address: str) -> list[tuple[str, str]]:
        return [
            (str(m["subject"]), m.get_body(("plain",)).get_content())
            for tos, m in self.received
            if address in tos
        ]


class SmtpServer:
    def __init__(self):
        self.sink = Sink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()
