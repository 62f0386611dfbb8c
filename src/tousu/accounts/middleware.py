"""Rules on every request: a one-time password is changed before anything else, a user name
guessed too often is slowed down, pages with personal data are never cached, and a query string
with a NUL is refused before any filter sees it."""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control

LOGIN_PATHS = ("/staff/login/", "/admin/login/")
# Everything behind a login or a portal grant: staff pages, documents, exports, the admin, the API,
# the complainant's case and receipt.
NO_STORE_PREFIXES = ("/staff/", "/admin/", "/api/", "/track/", "/receipt/")


class AccountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self._before(request)
        if response is None:
            response = self.get_response(request)
        if request.path.startswith(NO_STORE_PREFIXES):
            patch_cache_control(response, no_store=True, private=True)
        return response

    def _before(self, request):
        from django.conf import settings

        if "\x00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in v for values in request.GET.lists() for v in values[1]
        ):
            # No filter or search takes a NUL; PostgreSQL cannot even compare one. The API answers
            # in its own error shape, as for any invalid parameter.
            message = "请求参数中不能含有 NUL（\\0）字符"
            if request.path.startswith("/api/"):
                body = {"code": "invalid", "message": message, "details": {}}
                return JsonResponse(body, status=422, json_dumps_params={"ensure_ascii": False})
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        if (
            request.method == "POST"
            and request.path in LOGIN_PATHS
            and getattr(settings, "AXES_ENABLED", True)
        ):
            from .security import username_wait

            wait = username_wait(request.POST.get("username", ""))
            if wait:
                return render(request, "accounts/slowed.html", {"wait": wait}, status=429)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
            and request.path.startswith(("/staff/", "/admin/"))
            and request.path not in (reverse("accounts:password"), reverse("web:logout"))
        ):
            return redirect(f"{reverse('accounts:password')}?first=1")
        return None
