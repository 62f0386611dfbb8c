"""Register import speed: a 10,000-row hospital register (two sheets, title rows, merged cells,
three date styles, phones and amounts as people type them) imported into a fresh SQLite database
with `tousu import register`, then imported again (nothing changes). The issue's floor: 10,000 rows
in under 60 seconds on SQLite.

    .venv/bin/python bench/import_register.py [--rows 10000] [--keep]

Prints figures only; never asserts (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

TOUSU = str(Path(sys.executable).parent / "tousu")
FLOOR_SECONDS = 60.0
TEXTS = [
    "输液时护士多次穿刺失败，态度冷淡，要求道歉",
    "出院结算多收了两次CT检查费用，要求退费",
    "门诊挂号排队一个多小时，医生看诊不到三分钟",
    "主治医生暗示红包，手术一再推迟",
    "病房卫生间堵塞三天无人维修",
    "医保报销比例与窗口解释不一致",
    "药房发药与处方不符，险些误服",
    "停车场收费混乱，保安态度恶劣",
]
CATEGORIES = [
    "护理质量",
    "医疗收费",
    "门诊服务",
    "医德医风",
    "后勤与环境",
    "医疗保险",
    "药品器械质量",
    "安全秩序",
]
DEPARTMENTS = ["护理部", "财务科", "门诊部", "党办", "总务科", "医保科", "药械科", "保卫科"]
PREFIXES = ["138", "139", "135", "186", "187", "158", "177", "199"]
SATISFACTION = ["满意", "基本满意", "不满意", "未回访", ""]


def build(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    rng = random.Random(17)
    wb = Workbook()
    wb.remove(wb.active)
    start = datetime(2023, 1, 3, 8, 0)
    per_sheet = [rows // 2, rows - rows // 2]
    n = 0
    for year, count in zip((2023, 2024), per_sheet, strict=True):
        ws = wb.create_sheet(f"{year}年")
        ws.append([f"某市人民医院{year}年患者投诉登记表"])
        ws.merge_cells("A1:M1")
        ws.append(
            ["填报科室：医务科", None, None, None, None, None, None, None, None, None, "单位：元"]
        )
        ws.append(
            ["序号", "投诉日期", "投诉人", "联系电话", "患者姓名", "住院号", "投诉内容", "投诉类别",
             "涉及科室", "处理结果", "赔偿金额（元）", "办结日期", "满意度"]
        )  # fmt: skip
        for i in range(count):
            n += 1
            received = start + timedelta(minutes=97 * n)
            if year == 2024:
                received = received.replace(year=2024)
            closed = received + timedelta(days=rng.randint(0, 20))
            style = n % 3
            date_cell = (
                received
                if style == 0
                else f"{received:%Y/%-m/%-d}"
                if style == 1
                else f"{received.year}年{received.month}月{received.day}日"
            )
            k = rng.randrange(len(CATEGORIES))
            phone = f"{rng.choice(PREFIXES)}{rng.randint(0, 99999999):08d}"
            ws.append(
                [
                    i + 1,
                    date_cell,
                    f"患者{n}",
                    f"{phone[:3]} {phone[3:7]} {phone[7:]}" if n % 2 else phone,
                    f"病人{n}",
                    f"ZY{year}{n:06d}",
                    f"{TEXTS[k]}（第{n}件）",
                    CATEGORIES[k],
                    DEPARTMENTS[k],
                    "已沟通处理，向患者说明情况",
                    f"{rng.randint(1, 50) * 100:,}元" if n % 17 == 0 else None,
                    closed.strftime("%Y-%m-%d"),
                    SATISFACTION[n % len(SATISFACTION)],
                ]
            )
        ws.append(["备注：本表由医务科每月汇总，报院办备案。"])
    wb.save(path)


def tousu(env, *args) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run([TOUSU, *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if out.returncode:
        raise SystemExit(
            f"tousu {' '.join(args)} failed: {out.stderr.strip() or out.stdout[-500:]}"
        )
    return seconds, out.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tousu-bench-import-"))
    env = {**os.environ, "TOUSU_DATA_DIR": str(work / "var")}
    env.pop("DATABASE_URL", None)
    try:
        tousu(env, "init", "--template", "hospital", "--org", "某市人民医院")
        tousu(env, "createuser", "importer", "--role", "officer", "--password", "bench-pass-123")
        register = work / "register.xlsx"
        started = time.perf_counter()
        build(register, args.rows)
        print(f"register: {args.rows:,} rows, {register.stat().st_size / 1024:.0f} KB "
              f"(built in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        common = ["import", "register", str(register), "--template", "hospital"]
        dry, _ = tousu(env, *common, "--dry-run")
        first, out = tousu(env, *common, "--user", "importer")
        last = [line for line in out.splitlines() if line.strip()][-1]
        again, out2 = tousu(env, *common, "--user", "importer")
        last2 = [line for line in out2.splitlines() if line.strip()][-1]
        print(f"dry run (read + check, nothing written): {dry:6.1f} s")
        print(f"import:                                  {first:6.1f} s  "
              f"{args.rows / first:,.0f} rows/s  — {last}")  # fmt: skip
        print(f"import again (idempotent):               {again:6.1f} s  — {last2}")
        scaled = first * 10_000 / args.rows
        print(f"10,000 rows: {scaled:.1f} s against the floor of {FLOOR_SECONDS:.0f} s "
              f"({scaled / FLOOR_SECONDS:.0%} of it; whole command, process start included)")  # fmt: skip
    finally:
        if args.keep:
            print(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
