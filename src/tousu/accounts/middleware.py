"""Account rules on every request: a one-time password is changed before anything else, a user
name guessed too often is slowed down, and pages with personal data are never cached."""

from __future__ import annotations

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
