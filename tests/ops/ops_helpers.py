"""Helpers shared by the operations tests (importable: the test directories are not packages)."""

from __future__ import annotations

import os
import sqlite3
import struct
import subprocess
import sys
import zlib
from pathlib import Path

TOUSU = str(Path(sys.executable).parent / "tousu")


def png(seed: int = 0) -> bytes:
    """A real 1×1 PNG whose pixel depends on `seed`, so files differ (the check reads content)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixel = bytes([0, seed % 256, (seed * 7) % 256, (seed * 13) % 256, 255])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixel))
        + chunk(b"IEND", b"")
    )


def database_url(settings_dict: dict) -> str:
    """The URL of the database Django is connected to (the test database during tests)."""
    if "sqlite" in settings_dict["ENGINE"]:
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def tousu(*argv: str, url: str, data_dir: Path | str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "TOUSU_DATA_DIR": str(data_dir)}
    env.pop("TOUSU_DEBUG", None)
    return subprocess.run([TOUSU, *argv], env=env, capture_output=True, text=True, timeout=300)


def _sorted(rows) -> list:
    return sorted((tuple(r) for r in rows), key=repr)


def dump_sqlite(path: Path | str) -> dict[str, list]:
    """Every row of every table (the full-text index's own tables included), read with plain
    sqlite3 so both sides of a comparison are read the same way."""
    con = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {t: _sorted(con.execute(f'SELECT * FROM "{t}"')) for t in tables}
    finally:
        con.close()


def dump_postgres(url: str) -> dict[str, list]:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as con:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        return {t: _sorted(con.execute(f'SELECT * FROM "{t}"')) for t in tables}


def query(url: str, sql: str) -> list[tuple]:
    if url.startswith("sqlite:///"):
        con = sqlite3.connect(url[len("sqlite:///") :])
        try:
            return [tuple(r) for r in con.execute(sql)]
        finally:
            con.close()
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as con:
        return [tuple(r) for r in con.execute(sql)]


def dump(url: str) -> dict[str, list]:
    if url.startswith("sqlite:///"):
        return dump_sqlite(url[len("sqlite:///") :])
    return dump_postgres(url)


def all_text(cursor, table_names) -> dict[str, list[str]]:
    """Every value of every row of every table as text (bytes decoded leniently), for searching a
    whole database for something that must not be there."""
    found = {}
    for table in table_names:
        cursor.execute(f'SELECT * FROM "{table}"')
        values = []
        for row in cursor.fetchall():
            for v in row:
                if isinstance(v, bytes | memoryview):
                    v = bytes(v).decode("utf-8", "ignore")
                values.append(v if isinstance(v, str) else repr(v))
        found[table] = values
    return found
