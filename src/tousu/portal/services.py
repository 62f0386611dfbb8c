"""Writes from the public portal: a complaint submitted once however often the form is sent, the
complainant's own actions (material, rating), and finding a case by its numbers."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from tousu.cases import engine
from tousu.cases.attachments import add_attachment, check_upload
from tousu.cases.errors import Invalid
from tousu.cases.models import Complaint, hash_access_code
from tousu.cases.services import register_complaint
from tousu.processes.models import ProcessDefinition

from .models import SubmissionToken
from .selectors import MATERIAL_ACTION, complainant_name, normalise_phone

MAX_FILES = 5


@dataclass(frozen=True)
class Receipt:
    complaint: Complaint
    access_code: str
    replayed: bool = False  # the same form sent again: the first submission's receipt


def _keystream(token: str) -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), f"portal:{token}".encode(), "sha256").digest()


def _seal(code: str, token: str) -> str:
    return bytes(a ^ b for a, b in zip(code.encode(), _keystream(token), strict=False)).hex()


def _unseal(cipher: str, token: str) -> str:
    raw = bytes.fromhex(cipher)
    return bytes(a ^ b for a, b in zip(raw, _keystream(token), strict=False)).decode()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def earlier_receipt(token: str) -> Receipt | None:
    """The receipt of a form sent before. Its access code only until the receipt was first shown
    (a double click lands on a receipt with the code once); after that, without it."""
    row = (
        SubmissionToken.objects.filter(key_hash=_token_hash(token), complaint__isnull=False)
        .select_related("complaint")
        .first()
    )
    if row is None:
        return None
    code = _unseal(row.code_cipher, token) if row.code_cipher else ""
    return Receipt(row.complaint, code, replayed=True)


def access_code_shown(complaint: Complaint) -> None:
    """The receipt showed the access code: no replay of the form shows it again."""
    SubmissionToken.objects.filter(complaint=complaint).exclude(code_cipher="").update(
        code_cipher=""
    )


# --- attachments kept across a failed check ------------------------------------------------------
# A re-shown form cannot give a browser's file input its files back: the files of a submission
# that failed a check (the challenge, a missing field) are kept here under its form token and go
# with the complaint when the form is sent again, or are purged after a day.

PENDING = "pending"


def _pending_dir(token: str) -> Path:
    return settings.DATA_DIR / "portal" / PENDING / _token_hash(token)[:32]


def _manifest(folder: Path) -> list[dict]:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def stash_files(token: str, files: Sequence[tuple[str, bytes]]) -> list[str]:
    """Check and keep the files under this form token; the names of all files kept."""
    folder = _pending_dir(token)
    kept = _manifest(folder)
    if not files:
        return [f["name"] for f in kept]
    if len(kept) + len(files) > MAX_FILES:
        raise Invalid(
            f"最多上传 {MAX_FILES} 个附件：已收到 {len(kept)} 个，又选择了 {len(files)} 个"
        )
    check_files(files)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, data in files:
        stored = f"{secrets.token_hex(8)}.bin"
        path = folder / stored
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        kept.append({"name": name, "file": stored})
    tmp = folder / f"manifest.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(folder / "manifest.json")
    return [f["name"] for f in kept]


def drop_stashed(token: str, indexes: Sequence[int]) -> None:
    """Forget the kept files the complainant removed from the form."""
    folder = _pending_dir(token)
    kept = _manifest(folder)
    keep = [f for i, f in enumerate(kept) if i not in set(indexes)]
    for f in kept:
        if f not in keep:
            (folder / f["file"]).unlink(missing_ok=True)
    if kept:
        (folder / "manifest.json").write_text(json.dumps(keep, ensure_ascii=False))


def stashed_files(token: str) -> list[tuple[str, bytes]]:
    folder = _pending_dir(token)
    out = []
    for f in _manifest(folder):
        try:
            out.append((f["name"], (folder / f["file"]).read_bytes()))
        except OSError:
            continue
    return out


def discard_stash(token: str) -> None:
    shutil.rmtree(_pending_dir(token), ignore_errors=True)


def purge_stashes(older_than: timedelta = timedelta(days=1)) -> int:
    root = settings.DATA_DIR / "portal" / PENDING
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    gone = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            gone += 1
    return gone


def check_files(files: Sequence[tuple[str, bytes]]) -> None:
    if len(files) > MAX_FILES:
        raise Invalid(f"最多上传 {MAX_FILES} 个附件，您选择了 {len(files)} 个")
    for name, content in files:
        check_upload(name, content)


def submit_complaint(
    *,
    token: str,
    address: str,
    process: ProcessDefinition,
    channel: str,
    content: str,
    request: str = "",
    parties: Sequence[Mapping[str, Any]] = (),
    fields: Mapping[str, Any] | None = None,
    is_anonymous: bool = False,
    files: Sequence[tuple[str, bytes]] = (),
) -> Receipt:
    """Register a complaint from the portal with its attachments, all or nothing.

    The form's one-time token is inserted in the same transaction as the complaint: a double click or
    a retry of the same form either waits for the first to commit and then finds it, or finds it at
    once, and shows the first receipt. Files are checked before anything is written."""
    if earlier := earlier_receipt(token):
        return earlier
    check_files(files)
    name = next(  # the complainant's, never the respondent's (投诉对象 is a party too)
        (
            p.get("name")
            for p in parties
            if p.get("role", "complainant") == "complainant" and p.get("name")
        ),
        "",
    )
    actor = name or ("匿名投诉人" if is_anonymous else "投诉人")
    stored = []
    try:
        with transaction.atomic():
            row = SubmissionToken.objects.create(key_hash=_token_hash(token), address=address)
            complaint, code = register_complaint(
                process=process,
                user=None,
                channel=channel,
                content=content,
                request=request,
                parties=parties,
                fields=fields,
                is_anonymous=is_anonymous,
                via="portal",
                actor_name=actor,
            )
            for file_name, data in files:
                attachment = add_attachment(
                    complaint,
                    name=file_name,
                    content=data,
                    user=None,
                    is_public=True,
                    via="portal",
                    actor_name=actor,
                )
                stored.append(attachment)
            SubmissionToken.objects.filter(pk=row.pk).update(
                complaint=complaint, code_cipher=_seal(code, token)
            )
    except IntegrityError:
        _remove(stored)
        if earlier := earlier_receipt(token):  # the twin request won
            return earlier
        raise
    except BaseException:
        _remove(stored)  # rolled back: the files must not outlive their rows
        raise
    return Receipt(complaint, code)


def _remove(attachments) -> None:
    for a in attachments:
        a.file.delete(save=False)


# --- finding a case ------------------------------------------------------------------------------

_DUMMY_HASH = hash_access_code("XXXXXXXX")


BY_CODE, BY_PHONE = "code", "phone"


def match_case(
    tracking_number: str, secret: str, *, allow_phone: bool = True
) -> tuple[Complaint | None, str]:
    """(the case, BY_CODE or BY_PHONE) if the secret is its access code or (unless `allow_phone`
    is off) the phone number its complainant gave; (None, "") otherwise, the same for an unknown
    number as for a wrong secret (and about as slow). The phone number opens the case for reading
    only: what the complainant writes needs the access code."""
    number = (tracking_number or "").strip().upper()
    secret = (secret or "").strip()
    complaint = (
        Complaint.objects.select_related("process").filter(tracking_number=number).first()
        if number and secret
        else None
    )
    if complaint is None:
        Complaint(access_code_hash=_DUMMY_HASH).check_access_code(secret)
        return None, ""
    if complaint.check_access_code(secret):
        return complaint, BY_CODE
    phone = normalise_phone(secret)
    if allow_phone and len(phone) >= 7 and phone.isdigit():
        phones = complaint.parties.filter(role="complainant").values_list("phone", flat=True)
        if any(hmac.compare_digest(normalise_phone(p), phone) for p in phones if p):
            return complaint, BY_PHONE
    return None, ""


def find_case(tracking_number: str, secret: str) -> Complaint | None:
    return match_case(tracking_number, secret)[0]


# --- the complainant's own actions ---------------------------------------------------------------


def respond(
    complaint: Complaint,
    action: str,
    *,
    data: Mapping[str, Any],
    version: int,
    files: Sequence[tuple[str, bytes]] = (),
) -> Complaint:
    """Apply one of the complainant's actions (material, rating) as the complainant. Material comes
    with its files, in one transaction with the action, so a refused action stores no file."""
    if action == MATERIAL_ACTION:
        if not files and not (data.get("note") or "").strip():
            raise Invalid("请上传补充材料，或写明补充说明")
        check_files(files)
    elif files:
        raise Invalid("此步骤不接受附件")
    actor = complainant_name(complaint)
    stored = []
    try:
        with transaction.atomic():
            for file_name, content in files:
                stored.append(
                    add_attachment(
                        complaint,
                        name=file_name,
                        content=content,
                        user=None,
                        is_public=True,
                        via="portal",
                        actor_name=actor,
                    )
                )
            complaint, _ = engine.apply_action(
                complaint,
                engine.Complainant(actor),
                action,
                data=data,
                version=version,
                via="portal",
                actor_name=actor,
            )
    except BaseException:
        _remove(stored)
        raise
    return complaint


# --- the published contacts (F15) -------------------------------------------------------------

# What `tousu init` may set: its flag's name, the PublicNotice field.
PUBLIC_CONTACT_FIELDS = {
    "org_name": "display_name",
    "org_phone": "complaint_phone",
    "org_address": "reception_place",
    "org_hours": "reception_hours",
}


def set_public_contacts(**values: str | None):
    """Fill the published contacts (the first PublicNotice row, made when there is none) with the
    values given; None leaves a field as it is. Invalid raises Invalid with one line per field."""
    from .models import PublicNotice

    notice = PublicNotice.current()
    problems = []
    for key, value in values.items():
        if value is None:
            continue
        field = PublicNotice._meta.get_field(PUBLIC_CONTACT_FIELDS[key])
        value = value.strip()
        if len(value) > field.max_length:
            problems.append(
                f"「{field.verbose_name}」最多 {field.max_length} 个字，现为 {len(value)} 个"
            )
        setattr(notice, field.name, value)
    if problems:
        raise Invalid("；".join(problems))
    notice.save()
    return notice
