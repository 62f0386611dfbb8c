"""Guards: conditions an action needs beyond state and role, named in definitions.

Each guard gets a context with the case's facts and the submitted form data and returns None when it
holds, or a Chinese sentence saying what is missing. Definitions name guards; the validator checks
the names against this registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol


class GuardContext(Protocol):
    data: Mapping[str, Any]

    @property
    def attachment_count(self) -> int: ...

    def has_event(self, action: str) -> bool: ...


Guard = Callable[[GuardContext, Mapping[str, Any]], str | None]


def has_attachment(ctx: GuardContext, args: Mapping[str, Any]) -> str | None:
    minimum = int(args.get("min", 1))
    if ctx.attachment_count < minimum:
        what = args.get("what", "书面材料")
        return f"需要先上传{what}（至少 {minimum} 份附件）"
    return None


def event_present(ctx: GuardContext, args: Mapping[str, Any]) -> str | None:
    action = str(args["action"])
    if not ctx.has_event(action):
        return str(args.get("message") or f"需要先完成「{args.get('label', action)}」")
    return None


def min_selected(ctx: GuardContext, args: Mapping[str, Any]) -> str | None:
    field, minimum = str(args["field"]), int(args["min"])
    chosen = ctx.data.get(field) or []
    if len(chosen) < minimum:
        return f"「{args.get('label', field)}」至少需要 {minimum} 人/项，当前 {len(chosen)}"
    return None


GUARDS: dict[str, Guard] = {
    "has_attachment": has_attachment,
    "event_present": event_present,
    "min_selected": min_selected,
}
GUARD_REQUIRED_ARGS: dict[str, tuple[str, ...]] = {
    "has_attachment": (),
    "event_present": ("action",),
    "min_selected": ("field", "min"),
}
