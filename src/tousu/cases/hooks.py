"""The seam where the app built on the engine plugs into it. `cases` may not import `clocks` (the
layering in pyproject.toml, docs/architecture.md), yet registering a case and applying an action
start, stop and breach its clocks and tell people: `tousu.clocks` registers the rules that do that
here, in its AppConfig.ready(), and the engine calls them through `clock_rules()`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured


class ClockRules(Protocol):
    """What the engine asks of the clocks (tousu.clocks.services provides each one)."""

    def initial_clocks(self, complaint, at: datetime, facts=None) -> list[Any]: ...

    def breach_if_past_due(self, clocks: list[Any], now: datetime) -> None: ...

    def on_action(self, complaint, action, event, *, facts, form, closing: bool) -> None: ...

    def stop_all(self, complaint, at: datetime) -> None: ...

    def notify_roles(self, complaint, roles, kind: str, message: str, *, key: str) -> None: ...


_clock_rules: ClockRules | None = None


def register_clock_rules(rules: ClockRules) -> None:
    global _clock_rules
    _clock_rules = rules


def clock_rules() -> ClockRules:
    if _clock_rules is None:
        raise ImproperlyConfigured(
            "tousu.clocks is not in INSTALLED_APPS: cases need it for their time limits"
        )
    return _clock_rules
