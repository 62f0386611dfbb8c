"""Backup and restore while the service runs.

A backup is a directory: the database snapshot, the files its rows refer to (attachments, issued
documents' PDFs, periodic reports, classifier models) and `manifest.json` with the format version,
the database vendor, the time, row counts and the SHA-256 of every file.

The snapshot is consistent without stopping anything. SQLite: the backup API copies the database in
one step inside one read transaction (WAL lets writers go on meanwhile). PostgreSQL: a REPEATABLE
READ transaction exports its snapshot, `pg_dump -Fc --snapshot` dumps exactly that snapshot, and the
file references and counts are read in the same transaction. Files are listed from the snapshot, not
from the live tables: attachments are written once under random names, so a file the snapshot names
is complete on disk (its SHA-256 in the row is checked while copying).

Restore checks every checksum before it touches anything, refuses a database that holds data unless
forced, then restores the database (SQLite through the backup API into the target file, under the
same write lock the web processes take; PostgreSQL with `pg_restore --clean --if-exists` in one
transaction), then the files, then runs the migrations a newer code version may add.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.utils import timezone

FORMAT = "tousu-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.dump"
FILES_DIR = "files"

# What the counts in the manifest count: (key, model).
COUNTED = (
    ("complaints", "cases.Complaint"),
    ("events", "cases.Event"),
    ("attachments", "cases.Attachment"),
    ("parties", "cases.Party"),
    ("documents", "documents.Document"),
    ("users", "accounts.User"),
)
# A database holds data when one of these has a row: restoring over it needs --force.
DATA_MARKERS = ("cases.Complaint", "accounts.User", "processes.ProcessDefinition")


class BackupError(Exception):
    """The backup or restore could not be done (exit 1)."""


class Refused(Exception):
    """The operator asked for something that would lose data or cannot work (exit 2)."""


class VerificationFailed(BackupError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f"（共 {len(problems)} 处）" if len(problems) > 1 else ""
        super().__init__(f"备份校验失败，未做任何更改：{problems[0]}{more}")


@dataclass(frozen=True)
class FileSet:
    """Files on disk that rows of one model name: the folder in the backup, the model, its file and
    checksum columns, and where the files live under the data directory."""

    name: str
    model: str
    file_field: str
    sha_field: str

    def root(self) -> Path:
        if self.name == "attachments":
            return Path(settings.MEDIA_ROOT)
        return Path(settings.DATA_DIR) / self.name

    def store(self):
        """The object storage holding this set (TOUSU_STORAGE=s3), read and written through
        Django's storage API; None when the files are in a folder under the data directory."""
        from django.core.files.storage import FileSystemStorage, default_storage

        from tousu.db import files

        store = {
            "attachments": default_storage,
            "documents": files.documents,
            "reports": files.reports,
        }.get(self.name)
        return None if store is None or isinstance(store, FileSystemStorage) else store

    def query(self) -> str:
        meta = apps.get_model(self.model)._meta
        file_col = meta.get_field(self.file_field).column
        sha_col = meta.get_field(self.sha_field).column
        return (
            f"SELECT {file_col}, {sha_col} FROM {meta.db_table} "
            f"WHERE {file_col} IS NOT NULL AND {file_col} <> '' ORDER BY {file_col}"
        )


FILE_SETS = (
    FileSet("attachments", "cases.Attachment", "file", "sha256"),
    FileSet("documents", "documents.DocumentFile", "file", "sha256"),
    FileSet("reports", "reports.Report", "file", "sha256"),
    FileSet("triage", "triage.TriageModel", "file", "sha256"),
)


@dataclass
class Outcome:
    path: Path
    vendor: str
    counts: dict[str, int]
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    missing: list[dict] = field(default_factory=list)


# --- helpers -------------------------------------------------------------------------------------


def vendor() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return "postgresql"
    if "sqlite" in engine:
        return "sqlite"
    raise Refused(f"不支持的数据库：{engine}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def private_tree(root: Path) -> None:
    """Directories 0700 and files 0600 under `root`: a backup holds everyone's personal data."""
    root.chmod(0o700)
    for folder, dirs, files in os.walk(root):
        for d in dirs:
            os.chmod(os.path.join(folder, d), 0o700)
        for f in files:
            os.chmod(os.path.join(folder, f), 0o600)


def _copy(src: Path, dst: Path) -> tuple[str, int]:
    """Copy a file, returning the SHA-256 and size of what was written."""
    h, size = hashlib.sha256(), 0
    dst.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: owner only
    with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
        for chunk in iter(lambda: fin.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    return h.hexdigest(), size


def _copy_stream(fin, dst: Path) -> tuple[str, int]:
    """Copy an open file (an object read through the storage API) to dst: SHA-256 and size."""
    h, size = hashlib.sha256(), 0
    dst.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fout:
        for chunk in iter(lambda: fin.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    return h.hexdigest(), size


def restore_object(store, name: str, source: Path, sha256: str) -> None:
    """Put a backed-up file back into object storage under its exact name (the rows name it)."""
    if _sha256(source) != sha256:
        raise BackupError(f"备份中的 {name} 与清单的校验和不符")
    if store.exists(name):
        with store.open(name, "rb") as fh:
            if hashlib.sha256(fh.read()).hexdigest() == sha256:
                return
        store.delete(name)
    with open(source, "rb") as fh:
        saved = store.save(name, File(fh, name=name))
    if saved != name:
        raise BackupError(f"对象存储把 {name} 存成了 {saved}")


def _safe_relative(rel: str) -> bool:
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts and "\\" not in rel


def _table(model: str) -> str:
    return apps.get_model(model)._meta.db_table


def _counts(cursor) -> dict[str, int]:
    counts = {}
    for key, model in COUNTED:
        cursor.execute(f"SELECT count(*) FROM {_table(model)}")
        counts[key] = int(cursor.fetchone()[0])
    return counts


def _references(cursor) -> list[tuple[FileSet, str, str]]:
    refs = []
    for fs in FILE_SETS:
        cursor.execute(fs.query())
        refs += [(fs, name, sha or "") for name, sha in cursor.fetchall()]
    return refs


def _migrations(cursor) -> list[str]:
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
    return [f"{app}.{name}" for app, name in cursor.fetchall()]


# --- SQLite --------------------------------------------------------------------------------------


def _sqlite_path() -> Path:
    return Path(settings.DATABASES["default"]["NAME"])


def _sqlite_snapshot(dest: Path) -> tuple[list, dict, list, str]:
    source = _sqlite_path()
    if not source.is_file():
        raise BackupError(f"数据库文件 {source} 不存在")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        # pages=-1: one step, so the copy is one read transaction, a single point in time.
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        if (check := dst.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
            raise BackupError(f"数据库快照检查未通过：{check}")
        cur = dst.cursor()
        return _references(cur), _counts(cur), _migrations(cur), sqlite3.sqlite_version
    finally:
        dst.close()
        src.close()


def _sqlite_has_data(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    con = sqlite3.connect(path, timeout=30)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return any(
            con.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0]
            for t in map(_table, DATA_MARKERS)
            if t in tables
        )
    finally:
        con.close()


def _sqlite_restore(snapshot: Path) -> None:
    target = _sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    # The lock tousu.db.sqlite takes before each write transaction: web processes that are still
    # running wait instead of writing into a half-restored file.
    lock_fd = os.open(f"{target}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        src = sqlite3.connect(snapshot.resolve().as_uri() + "?mode=ro", uri=True)
        dst = sqlite3.connect(target, timeout=60)
        try:
            src.backup(dst, pages=-1)  # replaces every page in one write transaction
            dst.execute("PRAGMA journal_mode=WAL")
            if (check := dst.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
                raise BackupError(f"恢复后的数据库检查未通过：{check}")
        finally:
            dst.close()
            src.close()
    finally:
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        os.close(lock_fd)


# --- PostgreSQL ----------------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    """The newest pg_dump / pg_restore: Debian's versioned directories first (the client must not be
    older than the server), then PATH. TOUSU_PG_BINDIR overrides both."""
    candidates = []
    if bindir := os.environ.get("TOUSU_PG_BINDIR"):
        candidates.append(os.path.join(bindir, name))

    def major(path: str) -> float:
        m = re.search(r"/postgresql/([\d.]+)/bin/", path)
        return float(m.group(1)) if m else 0.0

    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=major, reverse=True)
    if found := shutil.which(name):
        candidates.append(found)
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise BackupError(
        f"找不到 {name}：请安装 PostgreSQL 客户端（Debian：postgresql-client），或用 TOUSU_PG_BINDIR 指定目录"
    )


def _pg_settings() -> dict:
    db = settings.DATABASES["default"]
    return {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": str(db["PORT"]) if db.get("PORT") else None,
        **{k: v for k, v in (db.get("OPTIONS") or {}).items() if isinstance(v, str | int)},
    }


def _pg_env() -> dict:
    params = _pg_settings()
    env = dict(os.environ)
    names = {"user": "PGUSER", "password": "PGPASSWORD", "host": "PGHOST", "port": "PGPORT"}
    names |= {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT"}
    for key, var in names.items():
        if params.get(key) is not None:
            env[var] = str(params[key])
    return env


def _pg_connect():
    import psycopg

    params = {k: v for k, v in _pg_settings().items() if v is not None}
    return psycopg.connect(**params)


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, env=_pg_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or "").splitlines() if ln.strip()]
        reason = lines[-1] if lines else f"退出码 {proc.returncode}"
        raise BackupError(f"{os.path.basename(argv[0])} 失败：{reason}")


def _pg_snapshot(dest: Path) -> tuple[list, dict, list, str]:
    import psycopg

    pg_dump = _pg_tool("pg_dump")
    with _pg_connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        cur = conn.cursor()
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
        # pg_dump imports the snapshot this transaction exported: the dump, the counts and the file
        # list below all see the same committed state.
        _run([pg_dump, "-Fc", f"--snapshot={snapshot}", "-f", str(dest), _pg_settings()["dbname"]])
        refs, counts, migrations = _references(cur), _counts(cur), _migrations(cur)
        server = str(conn.info.server_version)
        conn.rollback()
    return refs, counts, migrations, server


def _pg_has_data() -> bool:
    with _pg_connect() as conn:
        cur = conn.cursor()
        for table in map(_table, DATA_MARKERS):
            cur.execute("SELECT to_regclass(%s)", [table])
            if cur.fetchone()[0] is None:
                continue
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if cur.fetchone()[0]:
                return True
    return False


def _pg_restore(dump: Path) -> None:
    _run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={_pg_settings()['dbname']}",
            str(dump),
        ]
    )


# --- backup --------------------------------------------------------------------------------------


def backup(target: str | Path, *, allow_missing: bool = False) -> Outcome:
    """Write a backup directory. Nothing appears at `target` unless the whole backup succeeded."""
    started = time.perf_counter()
    target = Path(target).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise Refused(f"{target} 已存在且不是空目录；请给出一个新目录")
    kind = vendor()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o700)  # the backup holds personal data: only its owner may read it
    try:
        db_file = SQLITE_FILE if kind == "sqlite" else POSTGRES_FILE
        snapshot = _sqlite_snapshot if kind == "sqlite" else _pg_snapshot
        refs, counts, migrations, server = snapshot(work / db_file)
        checksums = {
            db_file: {"sha256": _sha256(work / db_file), "size": (work / db_file).stat().st_size}
        }
        missing = []
        stores = {fs.name: fs.store() for fs in FILE_SETS}
        for fs, name, expected in refs:
            rel = f"{FILES_DIR}/{fs.name}/{name}"
            store = stores[fs.name]
            source = fs.root() / name
            if not _safe_relative(name) or not (
                store.exists(name) if store is not None else source.is_file()
            ):
                missing.append({"file": rel, "reason": "文件不存在"})
                continue
            if store is not None:
                with store.open(name, "rb") as fin:
                    sha, size = _copy_stream(fin, work / rel)
            else:
                sha, size = _copy(source, work / rel)
            if expected and sha != expected:
                (work / rel).unlink()
                missing.append({"file": rel, "reason": "文件内容与登记的校验和不符"})
                continue
            checksums[rel] = {"sha256": sha, "size": size}
        if missing and not allow_missing:
            first = missing[0]
            more = f"等 {len(missing)} 个文件" if len(missing) > 1 else ""
            raise BackupError(
                f"{first['file']}{more}：{first['reason']}；未写入备份（--allow-missing 可跳过并记入清单）"
            )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "vendor": kind,
            "server_version": server,
            "created_at": timezone.localtime().isoformat(timespec="seconds"),
            "database": db_file,
            "counts": counts,
            "migrations": migrations,
            "missing": missing,
            "files": checksums,
        }
        (work / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        private_tree(work)
        if target.exists():
            target.rmdir()
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Outcome(
        path=target,
        vendor=kind,
        counts=counts,
        files=len(checksums) - 1,
        bytes=sum(v["size"] for v in checksums.values()),
        seconds=time.perf_counter() - started,
        missing=missing,
    )


# --- restore -------------------------------------------------------------------------------------


def verify(source: str | Path) -> dict:
    """The manifest of a backup whose every listed file is present with its recorded size and
    SHA-256; VerificationFailed listing what is not."""
    source = Path(source)
    path = source / MANIFEST
    if not path.is_file():
        raise VerificationFailed([f"{source} 中没有 {MANIFEST}：不是 tousu 备份目录"])
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise VerificationFailed([f"{MANIFEST} 无法读取：{exc}"]) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise VerificationFailed([f"{MANIFEST} 不是 tousu 备份清单"])
    if (
        not isinstance(manifest.get("format_version"), int)
        or manifest["format_version"] > FORMAT_VERSION
    ):
        raise VerificationFailed(
            [f"备份格式版本 {manifest.get('format_version')} 比本程序支持的 {FORMAT_VERSION} 新"]
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or manifest.get("database") not in files:
        raise VerificationFailed([f"{MANIFEST} 没有列出数据库文件"])
    sets = {fs.name for fs in FILE_SETS}
    problems = []
    for rel, meta in files.items():
        parts = rel.split("/", 2)
        if not _safe_relative(rel) or (
            rel != manifest["database"]
            and (len(parts) < 3 or parts[0] != FILES_DIR or parts[1] not in sets)
        ):
            problems.append(f"清单中的路径 {rel} 无效")
            continue
        p = source / rel
        if not isinstance(meta, dict):
            problems.append(f"清单中 {rel} 的记录无效")
        elif not p.is_file():
            problems.append(f"缺少文件 {rel}")
        elif p.stat().st_size != meta.get("size") or _sha256(p) != meta.get("sha256"):
            problems.append(f"文件 {rel} 的校验和不符（已被改动或损坏）")
    if problems:
        raise VerificationFailed(problems)
    return manifest


def _unknown_migrations(names: list[str]) -> list[str]:
    from django.db.migrations.loader import MigrationLoader

    known = {
        f"{app}.{name}"
        for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    }
    return [n for n in names if n not in known]


def restore(source: str | Path, *, force: bool = False) -> Outcome:
    started = time.perf_counter()
    source = Path(source).absolute()
    manifest = verify(source)  # before anything is touched
    kind = vendor()
    if manifest["vendor"] != kind:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise Refused(
            f"备份来自 {names.get(manifest['vendor'], manifest['vendor'])}，当前数据库是 {names[kind]}；"
            "不能跨数据库恢复"
        )
    if unknown := _unknown_migrations(manifest.get("migrations") or []):
        raise BackupError(
            f"备份来自更新的程序版本（本版本没有迁移 {unknown[0]}）；请先升级 tousu 再恢复"
        )
    has_data = _sqlite_has_data(_sqlite_path()) if kind == "sqlite" else _pg_has_data()
    if has_data and not force:
        raise Refused("目标数据库已有数据；确认要用备份覆盖它时加 --force")

    database = source / manifest["database"]
    if kind == "sqlite":
        _sqlite_restore(database)
    else:
        _pg_restore(database)

    roots = {fs.name: fs.root() for fs in FILE_SETS}
    stores = {fs.name: fs.store() for fs in FILE_SETS}
    n_files, n_bytes = 0, manifest["files"][manifest["database"]]["size"]
    for rel, meta in manifest["files"].items():
        if rel == manifest["database"]:
            continue
        _, set_name, name = rel.split("/", 2)
        n_files += 1
        n_bytes += meta["size"]
        if stores[set_name] is not None:
            restore_object(stores[set_name], name, source / rel, meta["sha256"])
            continue
        dest = roots[set_name] / name
        if dest.is_file() and _sha256(dest) == meta["sha256"]:
            continue
        tmp = dest.with_name(f".{dest.name}.restore-{os.getpid()}")
        sha, _ = _copy(source / rel, tmp)
        if sha != meta["sha256"]:
            tmp.unlink()
            raise BackupError(f"复制 {rel} 时内容改变")
        os.replace(tmp, dest)

    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    call_command("migrate", verbosity=0, interactive=False)  # a backup from an older version
    counts = {key: apps.get_model(model).objects.count() for key, model in COUNTED}
    if counts != manifest["counts"]:
        raise BackupError(f"恢复后的记录数与备份清单不符：{counts} ≠ {manifest['counts']}")
    return Outcome(
        path=source,
        vendor=kind,
        counts=counts,
        files=n_files,
        bytes=n_bytes,
        seconds=time.perf_counter() - started,
        missing=list(manifest.get("missing") or []),
    )
