"""A hospital's complaint register as offices keep it, built with openpyxl: a title row and a
caption above a two-row header (group headers merged over their columns), three date styles and an
Excel serial number, a date merged over two rows, a blank row, a bad row, notes at the bottom, and
a second sheet with other column names in another order."""

import io
from datetime import datetime

FIRST, SECOND = "2024年上半年", "2024年下半年"
HEAD_TOP = ["序号", "投诉日期", "投诉人信息", None, "患者信息", None, "投诉内容", "投诉类别",
            "涉及科室", "处理结果", "赔偿金额（元）", "办结日期", "满意度"]  # fmt: skip
HEAD_SUB = [None, None, "姓名", "联系电话", "姓名", "住院号"]
BAD_ROW = 9  # as Excel numbers it


def rows_first(
    *, r5_content="输液渗漏无人理会，要求道歉", r6_satisfaction="基本满意", r7_done=False
):
    return [
        ["某市人民医院患者投诉登记表（2024年上半年）"],
        ["填报科室：医务科", None, None, None, None, None, None, None, None, None, "单位：元"],
        HEAD_TOP,
        HEAD_SUB,
        [1, datetime(2024, 1, 8, 9, 30), "张三", "138 1234 5678", "张小三", "ZY2024001",
         r5_content, "护理质量", "护理部", "已道歉并加强培训", "1,200元", "2024/1/10", "满意"],
        [2, 45299, "李四", "+86 139-0000-1111", "李四", 123456, "出院结算多收CT费用",
         "医疗收费", "财务科", "已退费", None, "2024年1月12日", r6_satisfaction],
        [3, "2024.2.1", "王五", "0571-88886666", None, None, "医生态度差，不解释病情",
         "服务态度", "院办", "已约谈医生" if r7_done else None, None,
         "2024-02-06" if r7_done else None, "满意" if r7_done else None],
        [],
        [4, "2024-02-30", "赵六", "12345", None, None, "", "收费问题", "宇宙科", None, "abc",
         None, "很好"],
        [5, "2024-03-02", "钱七", "13600002222", "钱小七", "ZY2024077", "术后感染，怀疑消毒不严",
         "医疗质量", "医务科", "已组织专家解释", None, "2024-03-05", "不满意"],
        [6, None, "孙八", "13600003333", None, None, "夜班护士服务态度差", "护理质量", "护理部",
         "已批评教育", None, "2024-03-04", "满意"],
        ["备注：本表每月报院办备案。"],
        ["制表人：李医生", None, None, None, "审核：王主任"],
    ]  # fmt: skip


def rows_second():
    return [
        ["2024年下半年投诉登记"],
        ["编号", "受理日期", "来访人", "患者电话", "反映问题", "类型", "责任部门", "处理意见",
         "结案时间", "回访结果", "补偿", "回访日期"],
        ["2024-H2-001", "2024-07-01 10:00", "周九", 13700001111, "药房发错药，险些误服",
         "药品器械质量", "药械科", "已更正并道歉", "2024-07-03", "满意", "¥500", "2024-07-10"],
        ["2024-H2-002", "2024/7/15", "吴十", "13700002222", "停车场收费混乱", "安全秩序", None,
         "已整改", "2024/7/20", None, None, None],
    ]  # fmt: skip


FIRST_MERGES = ["A1:M1", "C3:D3", "E3:F3", "B10:B11", "A12:M12"] + [
    f"{c}3:{c}4" for c in "ABGHIJKLM"
]


def register_with(sheets: dict) -> bytes:
    """Sheets laid out like the first one (its merges)."""
    return workbook(sheets, merges={name: FIRST_MERGES for name in sheets})


def hospital_register(**changes) -> bytes:
    return workbook(
        {FIRST: rows_first(**changes), SECOND: rows_second()},
        merges={FIRST: FIRST_MERGES, SECOND: ["A1:L1"]},
    )


def workbook(sheets: dict, merges: dict | None = None, formats: dict | None = None) -> bytes:
    """An .xlsx: {sheet name: rows}, merged ranges and number formats per sheet."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        for rng in (merges or {}).get(name, []):
            ws.merge_cells(rng)
        for cell, fmt in (formats or {}).get(name, {}).items():
            ws[cell].number_format = fmt
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
