"""Path parameters, constrained so that anything a database cannot look up is a 422 here, never a
500 there (ids beyond 64 bits, NUL bytes, slashes)."""

from ninja import Path

MAX_ID = 2**53  # the largest integer every JSON client reads exactly

Id = Path[int, {"ge": 1, "le": MAX_ID}]
Name = Path[str, {"pattern": r"^[a-z][a-z0-9_]*$", "max_length": 50}]
ProcessName = Path[str, {"pattern": r"^[a-z][a-z0-9_-]*$", "max_length": 50}]
Username = Path[str, {"pattern": r"^[\w.@+-]+$", "max_length": 150}]
DepartmentCode = Path[str, {"pattern": r"^[-a-zA-Z0-9_]+$", "max_length": 50}]
