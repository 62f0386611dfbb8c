"""Object storage: with TOUSU_STORAGE=s3 attachments, documents and reports go to an S3-compatible
bucket (here moto's standalone server, started by the test on a local port, speaking the S3
protocol over HTTP as MinIO, Aliyun OSS and Tencent COS do), and come back only through Tousu's
views, after their permission checks: the bytes stream through Django, the bucket stays private."""

from __future__ import annotations

import socket

import boto3
import pytest
from django.test import Client, override_settings
from moto import server as moto_server

from tousu.settings import file_storages

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
BUCKET = "tousu-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint):
    """Settings as TOUSU_STORAGE=s3 makes them, against a fresh bucket; the client to look in it."""
    env = {
        "TOUSU_STORAGE": "s3",
        "TOUSU_S3_ENDPOINT_URL": s3_endpoint,
        "TOUSU_S3_BUCKET": BUCKET,
        "TOUSU_S3_ACCESS_KEY": "tousu-key",
        "TOUSU_S3_SECRET_KEY": "tousu-secret",
        "TOUSU_S3_REGION": "us-east-1",
    }
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="tousu-key",
        aws_secret_access_key="tousu-secret",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    with override_settings(STORAGES=file_storages(env, None)):
        yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(client) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def _login(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_attachment_is_stored_in_the_bucket_and_downloaded_through_the_view(s3, staff, register):
    from tousu.cases.attachments import add_attachment

    case = register()
    attachment = add_attachment(case, name="照片.png", content=PNG, user=staff["receiver"])
    keys = _keys(s3)
    assert keys == [f"attachments/{attachment.file.name}"]
    stored = s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    assert stored == PNG

    response = _login(staff["officer"]).get(f"/staff/cases/{case.pk}/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Disposition"].startswith("attachment;")
    assert "Location" not in response  # streamed, not a redirect to the bucket

    # A handler of another department may not open the case, so not its files either.
    denied = _login(staff["handler_t"]).get(f"/staff/cases/{case.pk}/attachments/{attachment.pk}/")
    assert denied.status_code == 403
    assert b"\x89PNG" not in denied.content


def test_a_second_attachment_with_the_same_name_is_a_second_object(s3, staff, register):
    from tousu.cases.attachments import add_attachment

    case = register()
    first = add_attachment(case, name="照片.png", content=PNG, user=staff["receiver"])
    second = add_attachment(case, name="照片.png", content=PNG + b"\x00", user=staff["receiver"])
    assert first.file.name != second.file.name
    assert len(_keys(s3)) == 2


def test_issued_document_pdf_lives_in_the_bucket(s3, staff, register, act):
    from tousu.documents.models import Document

    case = act(register(), "officer", "judge_valid")  # issues the acceptance receipt
    doc = Document.objects.get(complaint=case)
    officer = _login(staff["officer"])
    response = officer.get(f"/staff/documents/{doc.pk}/pdf/")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF")
    keys = _keys(s3)
    assert f"documents/{doc.pdf.file.name}" in keys
    stored = s3.get_object(Bucket=BUCKET, Key=f"documents/{doc.pdf.file.name}")["Body"].read()
    assert stored == body
    assert _login(staff["handler_q"]).get(f"/staff/documents/{doc.pk}/pdf/").status_code == 403


def test_periodic_report_is_written_to_the_bucket_and_served_to_its_roles_only(s3, staff):
    from tousu.reports.models import Report
    from tousu.reports.periods import parse
    from tousu.reports.services import build_report, request_report

    report = build_report(request_report(parse("2026-01"), "xlsx", user=staff["officer"]))
    assert report.status == Report.DONE, report.error
    assert _keys(s3) == [f"reports/{report.file}"]
    assert report.location().endswith(f"{BUCKET}/reports/{report.file}")

    response = _login(staff["leader"]).get(f"/staff/reports/periodic/{report.pk}/download/")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body[:2] == b"PK" and len(body) == report.size
    refused = _login(staff["handler_q"]).get(f"/staff/reports/periodic/{report.pk}/download/")
    assert refused.status_code == 403

    s3.delete_object(Bucket=BUCKET, Key=f"reports/{report.file}")
    gone = _login(staff["leader"]).get(f"/staff/reports/periodic/{report.pk}/download/")
    assert gone.status_code == 404


def test_storage_settings_from_the_environment(tmp_path):
    default = file_storages({}, tmp_path)
    assert default["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    # Attachments follow MEDIA_ROOT (the data directory's attachments folder by default).
    assert "OPTIONS" not in default["default"]
    assert default["documents"]["OPTIONS"]["location"] == str(tmp_path / "documents")
    assert default["reports"]["OPTIONS"]["location"] == str(tmp_path / "reports")

    env = {
        "TOUSU_STORAGE": "s3",
        "TOUSU_S3_ENDPOINT_URL": "https://oss-cn-hangzhou.aliyuncs.com",
        "TOUSU_S3_BUCKET": "hospital",
        "TOUSU_S3_ACCESS_KEY": "k",
        "TOUSU_S3_SECRET_KEY": "s",
        "TOUSU_S3_ADDRESSING_STYLE": "virtual",
        "TOUSU_S3_PREFIX": "/tousu/",
    }
    s3 = file_storages(env, tmp_path)
    for alias in ("default", "documents", "reports"):
        options = s3[alias]["OPTIONS"]
        assert s3[alias]["BACKEND"] == "storages.backends.s3.S3Storage"
        assert options["bucket_name"] == "hospital"
        assert options["addressing_style"] == "virtual"
        assert options["file_overwrite"] is False and options["default_acl"] is None
    assert s3["default"]["OPTIONS"]["location"] == "tousu/attachments"
    assert s3["reports"]["OPTIONS"]["location"] == "tousu/reports"

    with pytest.raises(ValueError, match="TOUSU_S3_BUCKET"):
        file_storages({**env, "TOUSU_S3_BUCKET": ""}, tmp_path)
    with pytest.raises(ValueError, match="filesystem 或 s3"):
        file_storages({"TOUSU_STORAGE": "ftp"}, tmp_path)
    with pytest.raises(ValueError, match="path 或 virtual"):
        file_storages({**env, "TOUSU_S3_ADDRESSING_STYLE": "dns"}, tmp_path)


@pytest.mark.django_db(transaction=True)  # the backup reads committed rows from its own snapshot
def test_backup_reads_the_bucket_and_restore_puts_objects_back(s3, staff, register, tmp_path):
    import json

    from tousu.cases.attachments import add_attachment
    from tousu.ops import backup

    case = register()
    attachment = add_attachment(case, name="照片.png", content=PNG, user=staff["receiver"])
    out = backup.backup(tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    rel = f"files/attachments/{attachment.file.name}"
    assert rel in manifest["files"] and not out.missing
    assert (tmp_path / "b" / rel).read_bytes() == PNG
    assert manifest["files"][rel]["sha256"] == attachment.sha256

    # The bucket loses the object; restoring the file puts it back under the same key.
    key = f"attachments/{attachment.file.name}"
    s3.delete_object(Bucket=BUCKET, Key=key)
    sets = {fs.name: fs for fs in backup.FILE_SETS}
    store = sets["attachments"].store()
    backup.restore_object(store, attachment.file.name, tmp_path / "b" / rel, attachment.sha256)
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == PNG
    # Again: already there and the same, nothing written; a backup file that changed is refused.
    backup.restore_object(store, attachment.file.name, tmp_path / "b" / rel, attachment.sha256)
    (tmp_path / "b" / rel).write_bytes(PNG + b"x")
    with pytest.raises(backup.BackupError, match="校验和"):
        backup.restore_object(store, attachment.file.name, tmp_path / "b" / rel, attachment.sha256)
    assert sets["triage"].store() is None  # triage's models stay in the data directory
