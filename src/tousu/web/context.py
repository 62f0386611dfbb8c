"""Template context for every workbench page."""

from django.utils.functional import SimpleLazyObject

from tousu.cases import selectors


def workbench(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: read only by the pages that show the registration link.
    return {"may_register": SimpleLazyObject(lambda: selectors.may_register(user))}
