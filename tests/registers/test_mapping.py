"""Recognising registers' headers (registers.mapping): general rules, not the examples. No database:
the templates are read from their files."""

from __future__ import annotations

import pytest

from tousu.processes.catalog import template_path
from tousu.processes.validation import load_file
from tousu.registers.mapping import IGNORE, Mapping, MappingError, layout, resolve_target
from tousu.registers.reading import Sheet


def definition(name: str):
    return load_file(template_path(name))


def mapped(template: str, headers: list[str], mapping: Mapping | None = None) -> dict[str, str]:
    sheet = Sheet("表", [["登记表"], headers, ["x"] * len(headers)])
    lay = layout(sheet, definition(template), mapping or Mapping())
    assert lay is not None and lay.header_row == 1
    return {c.header: c.target for c in lay.columns}


@pytest.mark.parametrize(
    "header, target",
    [
        ("投诉人地址", "complainant_address"),  # the person's attribute, not the person
        ("投诉人联系电话", "complainant_phone"),
        ("患者电话", "complainant_phone"),
        ("投诉人身份证号", "complainant_id_number"),
        ("被投诉人", "respondent"),
        ("反映问题", "content"),
        ("赔偿金额(元)", "compensation"),
        ("处理结果（答复内容）", "result"),  # a bracketed note is not part of the name
        ("联系电话*", "complainant_phone"),
        ("住院号", "field:record_number"),  # one of the label's alternatives: 门诊号或住院号
        ("与患者关系", "field:relation"),  # most of the label 投诉人与患者关系
        ("患者姓名", "field:patient_name"),
        ("回访日期", IGNORE),  # a date, but not the day the complaint came in
        ("受理部门", IGNORE),  # who took it in, not who is responsible
        ("性别", IGNORE),
    ],
)
def test_hospital_headers(header, target):
    assert mapped("hospital", ["投诉日期", "摘要", header])[header] == target


def test_each_target_goes_to_one_column_the_best_one():
    got = mapped("hospital", ["日期", "投诉日期", "姓名", "投诉人", "患者", "内容", "投诉内容"])
    assert got["投诉日期"] == "received_at" and got["日期"] == IGNORE
    assert got["投诉内容"] == "content" and got["内容"] == IGNORE
    # Three name columns: the most specific is the complainant, 患者 the patient (the field
    # 患者姓名), 姓名 is left out.
    assert (got["投诉人"], got["患者"], got["姓名"]) == (
        "complainant_name",
        "field:patient_name",
        IGNORE,
    )


def test_the_users_word_wins_and_unknown_targets_are_refused():
    m = Mapping.from_data({"columns": {"日期": "closed_at", "事由": "ignore", "病区": "涉及人员"}})
    got = mapped("hospital", ["日期", "受理日期", "事由", "病区", "投诉内容"], m)
    assert got == {
        "日期": "closed_at",
        "受理日期": "received_at",
        "事由": IGNORE,
        "病区": "field:involved_staff",
        "投诉内容": "content",
    }
    with pytest.raises(MappingError, match="不认识的目标「病人」"):
        resolve_target(definition("hospital"), "病人")
    with pytest.raises(MappingError, match="不认识的设置「colums」"):
        Mapping.from_data({"colums": {}})
    with pytest.raises(MappingError, match="只能是 error 或 blank"):
        Mapping.from_data({"unknown": {"category": "skip"}})


@pytest.mark.parametrize(
    "template, headers, expected",
    [
        ("property", ["反映时间", "业主", "房号", "楼栋", "问题描述"],
         {"业主": "complainant_name", "房号": "field:room", "楼栋": "field:building"}),
        ("tourism-authority", ["受理日期", "投诉人", "国籍", "被投诉旅游经营者", "投诉事由", "投诉人数"],
         {"被投诉旅游经营者": "field:respondent_name", "投诉人数": "field:complainant_count"}),
        ("enterprise-quality", ["来电日期", "客户单位", "产品名称及型号", "批号", "投诉内容"],
         {"客户单位": "field:customer_company", "批号": "field:batch_number"}),
        ("supervision-report", ["收到日期", "举报人", "被举报单位或个人", "举报内容"],
         {"举报人": "complainant_name", "被举报单位或个人": "field:reported_party"}),
    ],
)  # fmt: skip
def test_other_sectors_own_fields(template, headers, expected):
    got = mapped(template, headers)
    for header, target in expected.items():
        assert got[header] == target, header
    assert got[headers[0]] == "received_at"


def test_no_header_no_layout():
    sheet = Sheet("说明", [["本工作簿说明"], ["第一页为登记表"], []])
    assert layout(sheet, definition("generic"), Mapping()) is None


def test_a_column_that_is_also_a_fields_name_fills_both():
    sheet = Sheet("表", [["投诉日期", "患者", "涉及科室", "投诉内容"]])
    lay = layout(sheet, definition("hospital"), Mapping())
    got = {c.header: (c.target, c.also) for c in lay.columns}
    assert got["患者"] == ("complainant_name", "field:patient_name")
    assert got["涉及科室"] == ("department", "field:involved_department")
