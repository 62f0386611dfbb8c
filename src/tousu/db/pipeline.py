"""PostgreSQL pipeline mode (psycopg 3): statements are sent without waiting for each answer; the
client waits only where it reads a result, and once at the end of the block.

Only for blocks whose statements all belong to one outcome: an error is raised at the next point
where the client waits (a fetch, or the end of the block), not at the statement that failed, so it
must not be caught and survived inside the block. The enclosing transaction then rolls back as
usual: nothing changes in what is written or in the all-or-nothing guarantee. Elsewhere (SQLite)
the block runs as it is."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connections


@contextmanager
def pipelined(using: str = "default"):
    connection = connections[using]
    if connection.vendor != "postgresql" or not _supported():
        yield
        return
    connection.ensure_connection()
    if connection.connection.pgconn.pipeline_status:
        yield  # inside an outer pipelined block: its end is the one wait (no extra sync here)
        return
    with connection.connection.pipeline():
        yield


def _supported() -> bool:
    import psycopg

    return psycopg.Pipeline.is_supported()  # libpq 14 or later (the binary wheel has it)
