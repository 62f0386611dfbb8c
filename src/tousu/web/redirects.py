"""Where a form may send the user back to: only a page of this site (no open redirect)."""

from django.utils.http import url_has_allowed_host_and_scheme


def local_next(request, *, also_query: bool = False) -> str | None:
    """The request's `next` (the form's; with also_query the query string's too) when it stays on
    this site; None otherwise."""
    target = request.POST.get("next") or (request.GET.get("next") if also_query else "") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None
