"""What the probe found retention left behind (issue 15 §4): nationality and relation, the people
complained about, the persons a form names (涉及人员, 责任人), and the names of evidence files; and a
download of a removed file answered 500. Every template is checked, its personal fields read from
the definition."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

sys.path.insert(0, str(Path(__file__).parent.parent / "security"))
from walker import install, make_staff  # noqa: E402

from tousu.processes.catalog import template_names  # noqa: E402

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    from security_helpers import PNG as data

    return data


@pytest.mark.parametrize("template", template_names())
def test_retention_removes_everything_personal(template, settings, tmp_path):
    from tousu.accounts.services import create_token
    from tousu.cases.attachments import add_attachment
    from tousu.cases.models import Attachment, Complaint, Event, Party
    from tousu.cases.services import register_complaint
    from tousu.ops import retention

    settings.MEDIA_ROOT = tmp_path / "attachments"
    process = install(template)
    definition = process.definition
    users = make_staff(definition)
    personal_field = {f.name: "隐私值甲" for f in definition.fields if f.personal}
    c, code = register_complaint(
        process=process,
        user=users["receiver"],
        channel=definition.channels[0].value if definition.channels else "phone",
        content="投诉内容：服务问题。",
        parties=[
            {
                "role": "complainant",
                "name": "欧阳明月",
                "phone": "13912345678",
                "nationality": "美利坚合众国",
                "relation": "患者的女儿",
            },
            {"role": "respondent", "kind": "person", "name": "司马被诉"},
            {"role": "respondent", "kind": "organisation", "name": "某某旅行社有限公司"},
        ],
        fields={k: v for k, v in personal_field.items()},
    )
    evidence = add_attachment(
        c, name="欧阳明月的身份证照片.png", content=_png(), user=None, is_public=True
    )
    form_action = next((a for a in definition.actions if any(f.personal for f in a.form)), None)
    if form_action is not None:
        Event.objects.create(
            complaint=c,
            action=form_action.name,
            label=form_action.label,
            payload={f.name: "隐私值乙" for f in form_action.form if f.personal},
        )
    closed = sorted(definition.closed_states)[0]
    Complaint.objects.filter(pk=c.pk).update(
        state=closed, closed_at=timezone.now() - timedelta(days=definition.retention_days + 2)
    )

    result = retention.run()
    assert [d.complaint_id for d in result.due] == [c.pk]

    c.refresh_from_db()
    people = {p.name: p for p in Party.objects.filter(complaint=c)}
    assert "欧阳明月" not in people and "司马被诉" not in people
    assert "某某旅行社有限公司" in people  # what was complained about, for the statistics
    for p in people.values():
        assert p.nationality == "" and p.relation == "" and p.phone == ""
    text = str(c.fields) + "".join(str(e.payload) for e in c.events.all())
    assert "隐私值甲" not in text and "隐私值乙" not in text
    a = Attachment.objects.get(pk=evidence.pk)
    assert "欧阳明月" not in a.original_name and a.original_name.endswith(".png") and not a.file

    # Downloads of the removed file: a clear 410 on the workbench, the API and the portal.
    web = Client()
    web.force_login(users["officer"])
    r = web.get(f"/staff/cases/{c.pk}/attachments/{a.pk}/")
    assert r.status_code == 410 and "保存期限" in r.content.decode()
    _, raw = create_token(users["officer"])
    r = Client().get(
        f"/api/v1/complaints/{c.pk}/attachments/{a.pk}", headers={"Authorization": f"Bearer {raw}"}
    )
    assert r.status_code == 410 and r.json()["code"] == "gone"
    r = web.get(f"/staff/cases/{c.pk}/")
    assert r.status_code == 200 and "欧阳明月" not in r.content.decode()
