"""CSRF: every POST of the workbench, reports, documents and portal, taken from the authorisation
matrix, is refused without the CSRF token and goes through with it.

Each POST is sent by a caller the matrix lets through (one whose request writes, where there is
one), first without a token: refused with 403 and nothing written. Then the same request with the
token must give exactly the matrix's outcome, so the 403 came from the CSRF check and not from
anything else.

The API takes no session: its POSTs need a bearer token, which a browser never sends by itself,
and the matrix's "session" column shows a logged-in browser gets 401 there. So the API is exempt
from CSRF by design (django-ninja marks its views csrf_exempt) and is not listed here."""

from __future__ import annotations

from security_helpers import fill, outcome, web_body
from test_authz_matrix import MATRIX, WEB_COLUMNS, group_of

# The portal's "respond" answers a stale form (expired page, cookies off, or a forged request) by
# sending the complainant back to their case page with the reason, instead of a bare 403 page: the
# form is theirs and they can simply send it again. Nothing is written either way.
REFUSED_BY_REDIRECT = {"track/<str:number>/respond/<slug:name>/": "302"}


def posts() -> list[tuple[str, str, str]]:
    """(key, column, expected outcome with the token) for every non-API POST in the matrix."""
    out = []
    for key, rows in MATRIX.items():
        if group_of(key) == "api" or "POST" not in rows:
            continue
        outcomes = dict(zip(WEB_COLUMNS, rows["POST"].split(), strict=True))
        writers = [c for c, o in outcomes.items() if o.endswith("w")]
        fallback = "complainant" if group_of(key) == "portal" else "receiver"
        column = writers[0] if writers else fallback
        out.append((key, column, outcomes[column]))
    return out


POSTS = posts()


def test_the_list_covers_the_workbench_reports_documents_and_portal():
    keys = {k for k, _, _ in POSTS}
    for expected in (
        "staff/login/",
        "staff/logout/",
        "staff/cases/<int:pk>/actions/<slug:name>/",
        "staff/cases/<int:pk>/attachments/",
        "staff/cases/<int:pk>/reveal/",
        "staff/reports/periodic/new/",
        "staff/documents/cases/<int:pk>/issue/",
        "staff/documents/<int:doc_pk>/correct/",
        "",
        "track/",
        "track/<str:number>/respond/<slug:name>/",
    ):
        assert expected in keys


def test_posts_without_csrf_token_are_refused(world):
    problems = []
    for key, column, with_token in POSTS:
        client = world.web_client(column, enforce_csrf_checks=True)
        path = fill(key, "A", world)
        refused = outcome(client, "POST", path, data=web_body(key, "A", world))
        if refused != REFUSED_BY_REDIRECT.get(key, "403"):
            problems.append(f"POST {path} as {column} without a token: {refused}")
        body = {**web_body(key, "A", world), "csrfmiddlewaretoken": client.csrf_secret}
        accepted = outcome(client, "POST", path, data=body)
        if accepted != with_token:
            problems.append(f"POST {path} as {column} with the token: {accepted}, not {with_token}")
    assert not problems, "\n".join(problems)


def test_a_forged_cross_site_post_to_the_admin_is_refused(world):
    client = world.web_client("admin", enforce_csrf_checks=True)
    data = {"code": "forged", "name": "伪造部门", "is_active": "on", "sort_order": "0"}
    assert outcome(client, "POST", "/admin/accounts/department/add/", data=data) == "403"
    data["csrfmiddlewaretoken"] = client.csrf_secret
    assert outcome(client, "POST", "/admin/accounts/department/add/", data=data) == "302"
