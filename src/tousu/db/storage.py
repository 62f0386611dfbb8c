"""A database that cannot grow: the disk is full, or the operating system refuses the write.

SQLite says SQLITE_FULL ("database or disk is full") when the disk is full (ENOSPC), and
SQLITE_IOERR_WRITE ("disk I/O error") when a write is refused otherwise (a quota, a file-size limit,
a failing disk). PostgreSQL says SQLSTATE 53100 (disk_full). Either way the transaction was rolled
back, nothing was saved, and the answer must say so clearly instead of "internal error"."""

from __future__ import annotations

FULL_MESSAGE = (
    "存储空间已满（或磁盘无法写入），本次提交没有保存任何内容。"
    "请稍后重试；如果一直出现，请联系系统管理员清理磁盘空间。"
)
RETRY_AFTER_SECONDS = 60

# Writes only: a failing read (SQLITE_IOERR_READ) is a broken disk, not a full one.
_SQLITE_NAMES = frozenset(
    {"SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_TRUNCATE"}
)
_TEXTS = ("database or disk is full", "no space left on device")


def is_storage_full(exc: BaseException) -> bool:
    """True when `exc` (a Django DatabaseError, or what it wraps) means the database cannot be
    written for lack of space or a refused write."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "sqlite_errorname", None) in _SQLITE_NAMES:
            return True
        if getattr(exc, "sqlstate", None) == "53100":  # PostgreSQL disk_full
            return True
        text = str(exc).lower()
        if any(t in text for t in _TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
