"""What an API caller may reach: the staff visibility rule of tousu.cases.selectors, narrowed by
the token's department scope. Every handler that reads or writes a case goes through here."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from tousu.cases import selectors
from tousu.cases.errors import Forbidden
from tousu.cases.models import Complaint, Task


def scope_of(request) -> frozenset[int] | None:
    token = getattr(request, "api_token", None)
    return getattr(token, "scope_department_ids", None)


def _in_departments(ids: frozenset[int]) -> Q:
    has_task = Task.objects.filter(complaint=OuterRef("pk"), department_id__in=ids)
    return Q(department_id__in=ids) | Q(Exists(has_task))


def complaints(request) -> QuerySet[Complaint]:
    qs = selectors.visible_complaints(request.user)
    ids = scope_of(request)
    return qs if ids is None else qs.filter(_in_departments(ids))


def complaint(request, pk: int) -> Complaint:
    """The case, if the caller may see it: 404 when there is none, 403 when it belongs to another
    department (the user's or the token's)."""
    found = selectors.complaint_for(request.user, pk)
    ids = scope_of(request)
    if ids is not None and not (
        found.department_id in ids or found.tasks.filter(department_id__in=ids).exists()
    ):
        raise Forbidden("该令牌只能访问指定部门的投诉，此投诉不属于这些部门")
    return found


def actor(request) -> str:
    """Who an API write is recorded as: the user, and which token (its prefix, never the secret)."""
    token = getattr(request, "api_token", None)
    text = f"{request.user}（API 令牌 {token.prefix}…）" if token else str(request.user)
    return text[:100]
