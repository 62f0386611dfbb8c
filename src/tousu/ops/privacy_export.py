"""A complainant's data on request (个人信息查阅、复制，个人信息保护法 第四十五条): everything held
about them in one JSON file, and on each case a record that it was handed out."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from tousu.accounts.models import Organisation
from tousu.cases.models import Complaint, Event

from .selectors import EXPORTED, matching_parties, subject_data

DEFAULT_ACTOR = "管理员（命令行）"


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class ExportResult:
    path: Path
    complaints: int
    as_respondent: int
    parties: int


def export_subject(
    path: str | Path,
    *,
    phone: str = "",
    id_number: str = "",
    tracking_number: str = "",
    by: str = "",
) -> ExportResult:
    parties = matching_parties(phone=phone, id_number=id_number, tracking_number=tracking_number)
    if not parties:
        raise NotFound("没有找到与所给电话、证件号码或投诉编号相符的当事人")
    matched_by = "phone" if phone else "id_number" if id_number else "tracking_number"
    data = {
        "organisation": Organisation.current().name,
        "generated_at": timezone.localtime().isoformat(timespec="seconds"),
        "note": "依当事人申请导出的其在本单位投诉处理系统中的个人信息及其投诉记录",
        **subject_data(parties),
    }
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    case_ids = sorted({p.complaint_id for p in parties})
    try:
        with transaction.atomic():
            for complaint in Complaint.objects.filter(pk__in=case_ids).order_by("pk"):
                Event.objects.create(
                    complaint=complaint,
                    action=EXPORTED,
                    label="导出当事人个人信息",
                    from_state=complaint.state,
                    to_state=complaint.state,
                    actor=None,
                    actor_name=by or DEFAULT_ACTOR,
                    via="cli",
                    payload={"matched_by": matched_by, "format": "json"},
                    comment="依当事人申请导出其个人信息",
                )
            # Written inside the transaction: no file without its record, no record without the file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=2, default=str)
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExportResult(
        path=path,
        complaints=len(data["complaints"]),
        as_respondent=len(data["as_respondent"]),
        parties=len(parties),
    )
