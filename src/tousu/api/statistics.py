"""A small summary of the caller's cases; the Analytics module adds the full statistics."""

from ninja import Router, Status

from . import access
from .schemas import StatisticsOut, errors
from .selectors import statistics

router = Router(tags=["统计"])


@router.get("", response={200: StatisticsOut, **errors(401)}, summary="概况")
def summary(request):
    """调用者可见的投诉：总数、未结、已结、超时、即将到期，按状态和按责任部门的件数。"""
    return Status(200, statistics(access.complaints(request)))
