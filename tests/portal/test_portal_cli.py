"""`tousu portal purge|poster`."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tousu.cli import main

pytestmark = pytest.mark.django_db


def test_purge_forgets_old_counts_and_tokens(capsys):
    from tousu.portal.models import Hit, SubmissionToken

    old = timezone.now() - timedelta(days=40)
    Hit.objects.create(bucket="submit", key="1.2.3.4", at=old)
    Hit.objects.create(bucket="submit", key="1.2.3.4")
    SubmissionToken.objects.create(key_hash="a" * 64, created_at=old)
    SubmissionToken.objects.create(key_hash="b" * 64)
    assert main(["portal", "purge"]) == 0
    assert "已清除 1 条访问计数、1 个提交令牌" in capsys.readouterr().out
    assert Hit.objects.count() == 1 and SubmissionToken.objects.count() == 1


def test_poster(tmp_path, capsys, notice):
    out = tmp_path / "poster.pdf"
    assert main(["portal", "poster", "-o", str(out), "--url", "https://tousu.example.cn/"]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert main(["portal", "poster", "-o", str(out), "--url", "tousu.example.cn"]) == 2
    assert "应以 http:// 或 https:// 开头" in capsys.readouterr().err
