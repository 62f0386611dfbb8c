"""Acceptance: with EMAIL_HOST/EMAIL_PORT pointing at a local SMTP server and TOUSU_SMS_BACKEND=log,
a complaint registered through POST /api/v1/complaints with a complainant e-mail address is
acknowledged to that address (tracking number in the message) after `tousu worker --once`, and its
SMS is in the log."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from smtp_server import SmtpServer

from tousu.messaging.models import Message

TOUSU = str(Path(sys.executable).parent / "tousu")


def _database_url() -> str:
    d = connection.settings_dict
    if "sqlite" in d["ENGINE"]:
        return f"sqlite:///{Path(d['NAME']).resolve()}"
    password = f":{d['PASSWORD']}" if d.get("PASSWORD") else ""
    return f"postgres://{d.get('USER') or 'postgres'}{password}@{d.get('HOST') or '127.0.0.1'}:{d.get('PORT') or 5432}/{d['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_tousu_worker_once_acknowledges_by_email_and_logs_the_sms(people, client):
    from tousu.accounts.services import create_token

    smtp = SmtpServer().start()
    try:
        _, raw = create_token(people["receiver"])
        r = client.post(
            "/api/v1/complaints",
            {
                "channel": "web",
                "content": "网购的电热水壶漏电，要求退货并赔偿",
                "parties": [
                    {
                        "role": "complainant",
                        "name": "张三",
                        "phone": "13812345678",
                        "email": "zhang.san@example.com",
                    }
                ],
            },
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )
        assert r.status_code == 201, r.content
        number = r.json()["tracking_number"]
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "TOUSU_DATA_DIR": str(settings.DATA_DIR),
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "TOUSU_SMS_BACKEND": "log",
        }
        env.pop("EMAIL_BACKEND", None)
        done = subprocess.run(
            [TOUSU, "worker", "--once"], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        mails = smtp.sink.bodies_to("zhang.san@example.com")
        assert len(mails) == 1
        subject, body = mails[0]
        assert number in subject and number in body
        sms = Message.objects.get(channel="sms", address="13812345678")
        assert (sms.status, sms.backend) == (Message.SENT, "log")
        assert number in sms.body
    finally:
        smtp.stop()
