"""Reading a register file into sheets of cells.

xlsx, xlsm, xls (Excel 97–2003, still common in offices) and ods are read with python-calamine,
which is several times faster than openpyxl on large registers and gives date-formatted cells as
datetimes; csv with the standard library (UTF-8 or GB18030, as Excel in China saves it). Merged
cells are filled with their top-left value, so a date merged over the rows of one day belongs to
each of them and a group header spans its columns.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import PurePath

EXCEL_TYPES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
ALLOWED_TYPES = "xlsx、xls、xlsm、ods 或 csv"


class ReadError(ValueError):
    pass


@dataclass
class Sheet:
    name: str
    rows: list[list]  # absolute: rows[0] is Excel row 1, rows[r][0] is column A
    merged: list[tuple[int, int, int, int]] = field(
        default_factory=list
    )  # r0, c0, r1, c1 (0-based)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def merged_width(self, row: int, col: int) -> int:
        """How many columns the merged range starting at (row, col) spans (1 when not merged)."""
        for r0, c0, r1, c1 in self.merged:
            if r0 <= row <= r1 and c0 <= col <= c1:
                return c1 - c0 + 1
        return 1


@dataclass
class Book:
    sheets: list[Sheet]
    skipped: list[str] = field(default_factory=list)  # hidden sheets, named for the preview


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _fill_merged(rows: list[list], merged) -> list[tuple[int, int, int, int]]:
    out = []
    for (r0, c0), (r1, c1) in merged:
        out.append((r0, c0, r1, c1))
        if r0 >= len(rows):
            continue
        value = rows[r0][c0] if c0 < len(rows[r0]) else ""
        for r in range(r0, min(r1 + 1, len(rows))):
            row = rows[r]
            if len(row) <= c1:
                row.extend([""] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                if row[c] in ("", None):
                    row[c] = value
    return out


def _excel(data: bytes) -> Book:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several types for damaged or foreign files
        raise ReadError(
            f"无法读取文件（{type(exc).__name__}）：请上传 {ALLOWED_TYPES} 文件"
        ) from None
    sheets, skipped = [], []
    for meta in book.sheets_metadata:
        if str(meta.visible).endswith(("Hidden", "VeryHidden")):
            skipped.append(meta.name)
            continue
        try:
            sheet = book.get_sheet_by_name(meta.name)
            rows = [list(r) for r in sheet.to_python(skip_empty_area=False)]
            merged = sheet.merged_cell_ranges or []
        except CalamineError as exc:
            raise ReadError(f"工作表「{meta.name}」无法读取：{exc}") from None
        sheets.append(Sheet(meta.name, rows, _fill_merged(rows, merged)))
    return Book(sheets, skipped)


def _csv(data: bytes, name: str) -> Book:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ReadError("CSV 文件的编码无法识别：请保存为 UTF-8 或 GBK 编码")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
    return Book([Sheet(PurePath(name).stem or "CSV", rows)])


def read(data: bytes, filename: str) -> Book:
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".csv":
        return _csv(data, filename)
    if suffix in EXCEL_TYPES:
        return _excel(data)
    raise ReadError(f"不支持的文件类型「{suffix or filename}」：请上传 {ALLOWED_TYPES} 文件")
