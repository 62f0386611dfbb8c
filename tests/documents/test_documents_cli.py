"""`tousu documents seed|list|issue`."""

import pytest

from tousu.cli import main

pytestmark = pytest.mark.django_db


def test_seed_issue_and_list(register, capsys, tmp_path):
    c = register()
    assert main(["documents", "seed"]) == 0
    assert "已添加 0 个公文模板" in capsys.readouterr().out  # the migration seeded them
    out = tmp_path / "登记表.pdf"
    assert main(["documents", "issue", c.tracking_number, "registration_form", "-o", str(out)]) == 0
    assert "已出具《投诉登记表》" in capsys.readouterr().out
    assert out.read_bytes().startswith(b"%PDF")
    assert main(["documents", "list", c.tracking_number]) == 0
    assert "投诉登记表" in capsys.readouterr().out


def test_unknown_case_or_kind_is_a_usage_error(register, capsys):
    c = register()
    assert main(["documents", "list", "TS-00000000-0000"]) == 2
    assert "不存在" in capsys.readouterr().err
    assert main(["documents", "issue", c.tracking_number, "love_letter"]) == 2
    assert "未知公文种类「love_letter」" in capsys.readouterr().err
