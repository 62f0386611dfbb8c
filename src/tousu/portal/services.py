"""Writes from the public portal: a complaint submitted once however often the form is sent, the
complainant's own actions (material, rating), and finding a case by its numbers."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    row = (
        SubmissionToken.objects.filter(key_hash=_token_hash(token), complaint__isnull=False)
        .select_related("complaint")
        .first()
    )
    if row is None:
        return None
    return Receipt(row.complaint, _unseal(row.code_cipher, token), replayed=True)


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
    name = next((p.get("name") for p in parties if p.get("name")), "")
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


def find_case(tracking_number: str, secret: str) -> Complaint | None:
    """The case if the secret is its access code or the phone number its complainant gave; None
    otherwise, the same for an unknown number as for a wrong secret (and about as slow)."""
    number = (tracking_number or "").strip().upper()
    secret = (secret or "").strip()
    complaint = (
        Complaint.objects.select_related("process").filter(tracking_number=number).first()
        if number and secret
        else None
    )
    if complaint is None:
        Complaint(access_code_hash=_DUMMY_HASH).check_access_code(secret)
        return None
    if complaint.check_access_code(secret):
        return complaint
    phone = normalise_phone(secret)
    if len(phone) >= 7 and phone.isdigit():
        phones = complaint.parties.filter(role="complainant").values_list("phone", flat=True)
        if any(hmac.compare_digest(normalise_phone(p), phone) for p in phones if p):
            return complaint
    return None


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
