"""The benchmark's floor (bench/intake.py): the same server inserting one row and answering, to
set intake beside. Routed only with TOUSU_BENCH_FLOOR=1 (urls.py); not part of the workbench."""

import uuid

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tousu.cases.models import Counter


@csrf_exempt
@require_POST
def bench_floor(request):
    Counter.objects.create(key=uuid.uuid4().hex, value=0)
    return JsonResponse({"ok": True}, status=201)
