"""The authorisation matrix: for every URL pattern the project defines, what each caller gets.

Every pattern of the root URLconf must have an entry here (the Django admin's patterns are one
entry, "admin/", tested on a representative set of pages): a new URL fails
test_every_url_pattern_is_in_the_matrix until someone decides who may use it.

Outcomes: the status code; "L" for a redirect to a login page; a trailing "w" when the request wrote
to the database (see security_helpers.fingerprint). Each request runs in a savepoint that is rolled
back, so every request meets the same data.

Rows named "GET"/"POST" use department A's objects: case A (quality management, waiting for the
complainant's material), its attachment, clock, document and tracking number. Rows named "…@B" send
the same request for department B's case (storage/transport). The handler and the dept_head belong
to department A, so on "@B" rows they must be refused; the workbench and the API refuse with 403
(the case exists, it is another department's), the portal with a redirect or 404 (no grant).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from security_helpers import (
    ADMIN_PREFIX,
    api_request,
    fill,
    ninja_methods,
    outcome,
    patterns,
    web_body,
)

# Web columns: staff sessions (force_login), an anonymous visitor, and a complainant whose portal
# session was granted case A by its tracking number and access code.
WEB_COLUMNS = (
    "anonymous",
    "complainant",
    "receiver",
    "officer",
    "handler",
    "dept_head",
    "leader",
    "verifier",
    "auditor",
    "admin",
)
# API columns: no credentials; a logged-in admin's session cookie but no token (the API takes
# tokens only); a bearer token per role; an officer's token limited to department A.
API_COLUMNS = (
    "anonymous",
    "session",
    "receiver",
    "officer",
    "handler",
    "dept_head",
    "leader",
    "verifier",
    "auditor",
    "admin",
    "officer_scoped_A",
)

# fmt: off
MATRIX: dict[str, dict[str, str]] = {
    # --- staff workbench ----------- anon  cmpl  recv  offi  hand  head  lead  veri  audi  admin
    "staff/login/": {
        "GET":                          "200   200   200   200   200   200   200   200   200   200",
        "POST":                         "200   200   200   200   200   200   200   200   200   200",
    },
    "staff/logout/": {
        "POST":                         "L     L     L     L     L     L     L     L     L     L",
    },
    "staff/": {
        "GET":                          "L     L     200   200   200   200   200   200   200   200",
    },
    "staff/cases/": {  # POST saves the user's own filter
        "GET":                          "L     L     200   200   200   200   200   200   200   200",
        "POST":                         "L     L     302w  302w  302w  302w  302w  302w  302w  302w",
    },
    "staff/cases/bulk-assign/": {  # only the officer may assign (the action's role)
        "POST":                         "L     L     302   302w  302   302   302   302   302   302",
    },
    "staff/cases/filters/<int:pk>/delete/": {  # the officer's filter: nobody else can delete it
        "POST":                         "L     L     302   302w  302   302   302   302   302   302",
    },
    "staff/cases/new/": {
        "GET":                          "L     L     200   200   403   403   403   403   403   403",
        "POST":                         "L     L     302w  302w  403   403   403   403   403   403",
    },
    "staff/cases/new/suggest/": {  # others get an empty fragment
        "POST":                         "L     L     200   200   200   200   200   200   200   200",
    },
    "staff/cases/<int:pk>/": {
        "GET":                          "L     L     200   200   200   200   200   200   200   200",
        "GET@B":                        "L     L     200   200   403   403   200   200   200   200",
    },
    "staff/cases/<int:pk>/reveal/": {
        "POST":                         "L     L     200w  200w  403   403   200w  403   403   403",
        "POST@B":                       "L     L     200w  200w  403   403   200w  403   403   403",
    },
    "staff/cases/<int:pk>/attachments/": {  # whoever can act on the case now may upload
        "POST":                         "L     L     302w  302w  302w  302w  302w  403   403   403",
        "POST@B":                       "L     L     302w  302w  403   403   302w  403   403   403",
    },
    "staff/cases/<int:pk>/attachments/<int:attachment_id>/": {
        "GET":                          "L     L     200   200   200   200   200   200   200   200",
        "GET@B":                        "L     L     200   200   403   403   200   200   200   200",
    },
    "staff/cases/<int:pk>/actions/<slug:name>/": {  # add_note: not for verifier, auditor, admin
        "POST":                         "L     L     302w  302w  302w  302w  302w  302   302   302",
        "POST@B":                       "L     L     302w  302w  403   403   302w  302   302   302",
    },
    "staff/cases/<int:pk>/clocks/<int:clock_id>/extend/": {  # the leader extends
        "POST":                         "L     L     302   302   302   302   302w  302   302   302",
        "POST@B":                       "L     L     302   302   403   403   302w  302   302   302",
    },
    "staff/leader/": {
        "GET":                          "L     L     403   403   403   403   200   403   403   403",
    },
    "staff/notifications/": {  # POST marks one's own read: the head was told of arrivals and 督办
        "GET":                          "L     L     200   200   200   200   200   200   200   200",
        "POST":                         "L     L     302   302   302   302w  302   302   302   302",
    },
    # --- owners, 催办/督办, messages anon  cmpl  recv  offi  hand  head  lead  veri  audi  admin
    "staff/work/workload/": {  # heads see their department; the office, leaders, auditors all
        "GET":                          "L     L     403   200   403   200   200   403   200   200",
    },
    "staff/work/cases/<int:pk>/owner/": {  # the department's head, or a leader (refusals: a message)
        "POST":                         "L     L     302   302   302   302w  302w  302   302   302",
        "POST@B":                       "L     L     302   302   403   403   302   302   302   302",
    },
    "staff/work/cases/<int:pk>/claim/": {  # the department's handler or head
        "POST":                         "L     L     302   302   302w  302w  302   302   302   302",
        "POST@B":                       "L     L     302   302   403   403   302   302   302   302",
    },
    "staff/work/cases/<int:pk>/tasks/<int:task_id>/owner/": {
        "POST":                         "L     L     302   302   302   302w  302w  302   302   302",
        "POST@B":                       "L     L     302   302   403   403   302   302   302   302",
    },
    "staff/work/cases/<int:pk>/tasks/<int:task_id>/claim/": {
        "POST":                         "L     L     302   302   302w  302w  302   302   302   302",
        "POST@B":                       "L     L     302   302   403   403   302   302   302   302",
    },
    "staff/supervision/cases/<int:pk>/chase/": {  # the office or a leader
        "POST":                         "L     L     302   302w  302   302   302w  302   302   302",
        "POST@B":                       "L     L     302   302w  403   403   302w  302   302   302",
    },
    "staff/supervision/cases/<int:pk>/supervise/": {  # a leader
        "POST":                         "L     L     302   302   302   302   302w  302   302   302",
        "POST@B":                       "L     L     302   302   403   403   302w  302   302   302",
    },
    "staff/supervision/cases/<int:pk>/supervise/<int:supervision_id>/answer/": {  # the department
        "POST":                         "L     L     302   302   302w  302w  302   302   302   302",
        "POST@B":                       "L     L     302   302   403   403   302   302   302   302",
    },
    "staff/triage/cases/<int:pk>/link/": {  # with case A2; the roles of the API's link
        "POST":                         "L     L     302w  302w  302   302   302w  302   302   302",
        "POST@B":                       "L     L     302w  302w  403   403   302w  302   302   302",
    },
    "staff/triage/cases/<int:pk>/unlink/": {  # not linked: refused with a message, nothing written
        "POST":                         "L     L     302   302   302   302   302   302   302   302",
        "POST@B":                       "L     L     302   302   403   403   302   302   302   302",
    },
    "staff/triage/cases/<int:pk>/merge/": {  # A2 merged into the case (and closed)
        "POST":                         "L     L     302   302w  302   302   302w  302   302   302",
        "POST@B":                       "L     L     302   302w  403   403   302w  302   302   302",
    },
    # nothing was routed by the system: refused with a message (no 自动分派 in force), nothing written
    "staff/triage/cases/<int:pk>/auto-route/undo/": {
        "POST":                         "L     L     302   302   302   302   302   302   302   302",
        "POST@B":                       "L     L     302   302   403   403   302   302   302   302",
    },
    "staff/triage/cases/<int:pk>/auto-route/correct/": {
        "POST":                         "L     L     302   302   302   302   302   302   302   302",
        "POST@B":                       "L     L     302   302   403   403   302   302   302   302",
    },
    "staff/messages/settings/": {  # each person their own
        "GET":                          "L     L     200   200   200   200   200   200   200   200",
        "POST":                         "L     L     302w  302w  302w  302w  302w  302w  302w  302w",
    },
    "staff/messages/cases/<int:pk>/optout/": {  # those who speak with the complainant
        "POST":                         "L     L     302w  302w  403   403   302w  403   403   403",
        "POST@B":                       "L     L     302w  302w  403   403   302w  403   403   403",
    },
    # --- reports ------------------- anon  cmpl  recv  offi  hand  head  lead  veri  audi  admin
    "staff/reports/": {  # departmental staff see their department's figures
        "GET":                          "L     L     403   200   200   200   200   403   200   200",
    },
    "staff/reports/export.<str:fmt>": {  # every export is logged
        "GET":                          "L     L     403   200w  200w  200w  200w  403   200w  200w",
    },
    "staff/reports/periodic/": {
        "GET":                          "L     L     403   200   403   403   200   403   200   200",
    },
    "staff/reports/periodic/new/": {
        "POST":                         "L     L     403   302w  403   403   302w  403   302w  302w",
    },
    "staff/reports/periodic/<int:pk>/download/": {
        "GET":                          "L     L     403   200   403   403   200   403   200   200",
    },
    # --- imports (no batch with the case's id: 404 once the role is allowed)
    "staff/import/": {  # officers and administrators; an empty upload is refused, nothing kept
        "GET":                          "L     L     403   200   403   403   403   403   403   200",
        "POST":                         "L     L     403   400   403   403   403   403   403   400",
    },
    "staff/import/<int:pk>/": {
        "GET":                          "L     L     403   404   403   403   403   403   403   404",
    },
    "staff/import/<int:pk>/mapping/": {
        "POST":                         "L     L     403   404   403   403   403   403   403   404",
    },
    "staff/import/<int:pk>/confirm/": {
        "POST":                         "L     L     403   404   403   403   403   403   403   404",
    },
    "staff/import/replies.xlsx": {  # the 12345 reply sheet; every export is logged
        "GET":                          "L     L     403   200w  403   403   200w  403   403   200w",
    },
    # --- official documents -------- anon  cmpl  recv  offi  hand  head  lead  veri  audi  admin
    "staff/documents/cases/<int:pk>/": {
        "GET":                          "L     L     200   200   200   200   200   200   200   200",
        "GET@B":                        "L     L     200   200   403   403   200   200   200   200",
    },
    "staff/documents/cases/<int:pk>/issue/": {
        "POST":                         "L     L     302w  302w  403   403   302w  403   403   302w",
        "POST@B":                       "L     L     302w  302w  403   403   302w  403   403   302w",
    },
    "staff/documents/<int:doc_pk>/correct/": {
        "POST":                         "L     L     302w  302w  403   403   302w  403   403   302w",
        "POST@B":                       "L     L     302w  302w  403   403   302w  403   403   302w",
    },
    "staff/documents/<int:doc_pk>/pdf/": {  # the full PDF is a logged disclosure; others: masked
        "GET":                          "L     L     200w  200w  200   200   200w  200   200   200",
        "GET@B":                        "L     L     200w  200w  403   403   200w  200   200   200",
    },
    "staff/documents/templates/<int:template_pk>/preview/": {  # Django admin users only
        "GET":                          "L     L     L     L     L     L     L     L     L     200",
    },
    "staff/account/password/": {  # one's own password; the POST's wrong current password: 400
        "GET":                          "L     L     200   200   200   200   200   200   200   200",
        "POST":                         "L     L     400   400   400   400   400   400   400   400",
    },
    # --- privacy ------------------- anon  cmpl  recv  offi  hand  head  lead  veri  audi  admin
    "staff/privacy/disclosures/": {  # the auditor's log of who saw or exported personal data
        "GET":                          "L     L     403   403   403   403   403   403   200   403",
    },
    # --- public portal ------------- anon  cmpl  recv  offi  hand  head  lead  veri  audi  admin
    "": {  # POST without the form's one-time token is refused with a message
        "GET":                          "200   200   200   200   200   200   200   200   200   200",
        "POST":                         "400   400   400   400   400   400   400   400   400   400",
    },
    "receipt/": {  # only right after submitting
        "GET":                          "302   302   302   302   302   302   302   302   302   302",
    },
    "track/": {  # the right number and access code open the case, for anyone who has them
        "GET":                          "200   200   200   200   200   200   200   200   200   200",
        "POST":                         "302   302   302   302   302   302   302   302   302   302",
    },
    "track/<str:number>/": {  # a staff login grants nothing on the portal
        "GET":                          "302   200   302   302   302   302   302   302   302   302",
        "GET@B":                        "302   302   302   302   302   302   302   302   302   302",
    },
    "track/<str:number>/respond/<slug:name>/": {  # provide_material
        "POST":                         "302   302w  302   302   302   302   302   302   302   302",
        "POST@B":                       "302   302   302   302   302   302   302   302   302   302",
    },
    "track/<str:number>/leave/": {
        "POST":                         "302   302   302   302   302   302   302   302   302   302",
        "POST@B":                       "302   302   302   302   302   302   302   302   302   302",
    },
    "track/<str:number>/files/<int:pk>/": {
        "GET":                          "404   200   404   404   404   404   404   404   404   404",
        "GET@B":                        "404   404   404   404   404   404   404   404   404   404",
    },
    "track/<str:number>/documents/<int:pk>/": {
        "GET":                          "404   200   404   404   404   404   404   404   404   404",
        "GET@B":                        "404   404   404   404   404   404   404   404   404   404",
    },
    "notice/": {
        "GET":                          "200   200   200   200   200   200   200   200   200   200",
    },
    "notice/poster.pdf": {
        "GET":                          "200   200   200   200   200   200   200   200   200   200",
    },
    "messages/optout/<str:token>/": {  # the link in an e-mail: whoever holds it; GET only asks
        "GET":                          "200   200   200   200   200   200   200   200   200   200",
        "POST":                         "200w  200w  200w  200w  200w  200w  200w  200w  200w  200w",
    },
    "messages/track/<str:number>/optout/": {  # the complainant who opened the case
        "POST":                         "302   302w  302   302   302   302   302   302   302   302",
        "POST@B":                       "302   302   302   302   302   302   302   302   302   302",
    },
    # --- API --------------------------------------- anon  sess  recv  offi  hand  head  lead  veri  audi  admin scopedA
    "api/v1/openapi.json": {  # the schema and its docs page are public; no data in them
        "GET":                                          "200   200   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/docs": {
        "GET":                                          "200   200   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/": {
        "GET":                                          "404   404   404   404   404   404   404   404   404   404   404",
    },
    "api/v1/<path:rest>": {
        "GET":                                          "404   404   404   404   404   404   404   404   404   404   404",
        "POST":                                         "404   404   404   404   404   404   404   404   404   404   404",
        "PUT":                                          "404   404   404   404   404   404   404   404   404   404   404",
        "PATCH":                                        "404   404   404   404   404   404   404   404   404   404   404",
        "DELETE":                                       "404   404   404   404   404   404   404   404   404   404   404",
    },
    "api/v1/complaints#create_complaint": {
        "POST":                                         "401   401   201w  201w  403   403   403   403   403   403   201w",
    },
    "api/v1/complaints#list_complaints": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/complaints/<complaint_id>": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/complaints/<complaint_id>/actions": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/complaints/<complaint_id>/actions/<name>": {  # add_note
        "POST":                                         "401   401   200w  200w  200w  200w  200w  403   403   403   200w",
        "POST@B":                                       "401   401   200w  200w  403   403   200w  403   403   403   403",
    },
    "api/v1/complaints/<complaint_id>/parties": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/complaints/<complaint_id>/parties/reveal": {
        "POST":                                         "401   401   200w  200w  403   403   200w  403   403   403   200w",
        "POST@B":                                       "401   401   200w  200w  403   403   200w  403   403   403   403",
    },
    "api/v1/complaints/<complaint_id>/tasks": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/complaints/<complaint_id>/events": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/complaints/<complaint_id>/clocks": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/complaints/<complaint_id>/clocks/<clock_id>/extend": {
        "POST":                                         "401   401   403   403   403   403   200w  403   403   403   403",
        "POST@B":                                       "401   401   403   403   403   403   200w  403   403   403   403",
    },
    "api/v1/complaints/<complaint_id>/attachments#list_attachments": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/complaints/<complaint_id>/attachments#upload_attachment": {
        "POST":                                         "401   401   201w  201w  201w  201w  201w  403   403   403   201w",
        "POST@B":                                       "401   401   201w  201w  403   403   201w  403   403   403   403",
    },
    "api/v1/complaints/<complaint_id>/attachments/<attachment_id>": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/complaints/<complaint_id>/documents": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/complaints/<complaint_id>/documents/<document_id>": {  # as on the workbench
        "GET":                                          "401   401   200w  200w  200   200   200w  200   200   200   200w",
        "GET@B":                                        "401   401   200w  200w  403   403   200w  200   200   200   403",
    },
    "api/v1/departments": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/departments/<code>": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/categories": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/users": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/users/<username>": {  # the officer: named to all, others see their department and self
        "GET":                                          "401   401   404   200   404   404   200   404   200   200   200",
    },
    "api/v1/me": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/tasks": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/notifications": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/notifications/read": {  # the head has unread ones (arrivals, 督办)
        "POST":                                         "401   401   200   200   200   200w  200   200   200   200   200",
    },
    "api/v1/processes/validate": {
        "POST":                                         "401   401   403   403   403   403   403   403   403   200   403",
    },
    "api/v1/processes": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/processes/<name>": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/processes/<name>/diagram": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/statistics": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/triage/suggest": {  # registering roles only, as on the workbench
        "POST":                                         "401   401   200   200   403   403   403   403   403   403   200",
    },
    "api/v1/triage/complaints/<complaint_id>/duplicates": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/triage/complaints/<complaint_id>/links": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/triage/complaints/<complaint_id>/link": {  # with case A2 (department A)
        "POST":                                         "401   401   201w  201w  403   403   201w  403   403   403   201w",
        "POST@B":                                       "401   401   201w  201w  403   403   201w  403   403   403   403",
    },
    "api/v1/triage/complaints/<complaint_id>/merge": {  # A2 merged into the case
        "POST":                                         "401   401   403   201w  403   403   201w  403   403   403   201w",
        "POST@B":                                       "401   401   403   201w  403   403   201w  403   403   403   403",
    },
    "api/v1/triage/complaints/<complaint_id>/auto-route/undo": {  # nothing routed by the system
        "POST":                                         "401   401   409   409   403   403   409   403   403   403   409",
        "POST@B":                                       "401   401   409   409   403   403   409   403   403   403   403",
    },
    "api/v1/triage/complaints/<complaint_id>/auto-route/correct": {
        "POST":                                         "401   401   409   409   403   403   409   403   403   403   409",
        "POST@B":                                       "401   401   409   409   403   403   409   403   403   403   403",
    },
    "api/v1/triage/waves": {  # staff; each sees the waves among the cases it may open
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/complaints/<complaint_id>/owner": {  # the department's head, or a leader
        "POST":                                         "401   401   403   403   403   200w  200w  403   403   403   403",
        "POST@B":                                       "401   401   403   403   403   403   422   403   403   403   403",
    },
    "api/v1/complaints/<complaint_id>/claim": {
        "POST":                                         "401   401   403   403   200w  200w  403   403   403   403   403",
        "POST@B":                                       "401   401   403   403   403   403   403   403   403   403   403",
    },
    "api/v1/complaints/<complaint_id>/tasks/<task_id>/owner": {
        "POST":                                         "401   401   403   403   403   200w  200w  403   403   403   403",
        "POST@B":                                       "401   401   403   403   403   403   422   403   403   403   403",
    },
    "api/v1/complaints/<complaint_id>/tasks/<task_id>/claim": {
        "POST":                                         "401   401   403   403   200w  200w  403   403   403   403   403",
        "POST@B":                                       "401   401   403   403   403   403   403   403   403   403   403",
    },
    "api/v1/workload": {
        "GET":                                          "401   401   403   200   403   200   200   403   200   200   200",
    },
    "api/v1/departments/<code>/assignment": {  # administrators
        "PUT":                                          "401   401   403   403   403   403   403   403   403   200w  403",
    },
    "api/v1/complaints/<complaint_id>/chase": {
        "POST":                                         "401   401   403   200w  403   403   200w  403   403   403   200w",
        "POST@B":                                       "401   401   403   200w  403   403   200w  403   403   403   403",
    },
    "api/v1/complaints/<complaint_id>/supervision#list_supervision": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/complaints/<complaint_id>/supervision#place": {
        "POST":                                         "401   401   403   403   403   403   201w  403   403   403   403",
        "POST@B":                                       "401   401   403   403   403   403   201w  403   403   403   403",
    },
    "api/v1/complaints/<complaint_id>/supervision/<supervision_id>/answer": {
        "POST":                                         "401   401   403   403   200w  200w  403   403   403   403   403",
        "POST@B":                                       "401   401   403   403   403   403   403   403   403   403   403",
    },
    "api/v1/complaints/<complaint_id>/messages": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
        "GET@B":                                        "401   401   200   200   403   403   200   200   200   200   403",
    },
    "api/v1/me/notification-preferences#get_preferences": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
    "api/v1/me/notification-preferences#put_preferences": {
        "PUT":                                          "401   401   200w  200w  200w  200w  200w  200w  200w  200w  200w",
    },
    "api/v1/triage/models": {
        "GET":                                          "401   401   200   200   200   200   200   200   200   200   200",
    },
}

# The Django admin, one group: its index, a changelist, an add page. `tousu createuser --role admin`
# makes a superuser; every other staff member is sent to the admin's login page.
ADMIN_PAGES = {  # ------------------ anon  cmpl  recv  offi  hand  head  lead  veri  audi  admin
    "/admin/":                          "L     L     L     L     L     L     L     L     L     200",
    "/admin/accounts/user/":            "L     L     L     L     L     L     L     L     L     200",
    "/admin/accounts/department/add/":  "L     L     L     L     L     L     L     L     L     200",
}
# fmt: on

# Present only when TOUSU_BENCH_FLOOR=1 (bench/intake.py); off in tests and in production.
OPTIONAL = {"bench/floor"}
CASE_PARAMS = ("<int:pk>", "<complaint_id>", "<int:doc_pk>", "<str:number>")
NOT_CASES = (  # their pk is no case's
    "staff/cases/filters/",
    "staff/reports/periodic/",
    "staff/import/",
)


def group_of(key: str) -> str:
    if key.startswith("api/"):
        return "api"
    if key.startswith("staff/"):
        return "staff"
    return "portal"


def columns_of(key: str) -> tuple[str, ...]:
    return API_COLUMNS if group_of(key) == "api" else WEB_COLUMNS


def test_every_url_pattern_is_in_the_matrix():
    defined = {p.key for p in patterns()}
    missing = sorted(defined - MATRIX.keys() - {ADMIN_PREFIX})
    stale = sorted(MATRIX.keys() - defined - OPTIONAL)
    assert not missing, (
        "URL patterns without an entry in the authorisation matrix (decide who may use them): "
        + ", ".join(repr(k) for k in missing)
    )
    assert not stale, "matrix entries for URL patterns that no longer exist: " + ", ".join(stale)
    assert ADMIN_PREFIX in defined and ADMIN_PAGES


def test_matrix_rows_are_well_formed():
    by_key = {p.key: p for p in patterns()}
    problems = []
    for key, rows in MATRIX.items():
        width = len(columns_of(key))
        for name, row in rows.items():
            method, _, variant = name.partition("@")
            if method not in ("GET", "POST", "PUT", "PATCH", "DELETE") or variant not in ("", "B"):
                problems.append(f"{key!r}: row name {name!r}")
            if len(row.split()) != width:
                problems.append(f"{key!r} {name}: {len(row.split())} outcomes for {width} columns")
        pattern = by_key.get(key)
        if pattern is None:
            continue
        methods = {n.partition("@")[0] for n in rows}
        served = ninja_methods(pattern)
        if served is not None and methods != served:
            problems.append(
                f"{key!r}: the matrix tests {sorted(methods)}, the API serves {sorted(served)}"
            )
        about_a_case = any(p in key for p in CASE_PARAMS) and not key.startswith(NOT_CASES)
        for method in methods:
            if about_a_case and f"{method}@B" not in rows:
                problems.append(f"{key!r}: names a case, so needs a {method}@B row")
    assert not problems, "\n".join(problems)


def _run(world, keys) -> tuple[list[str], list[str], int]:
    clients = {c: world.web_client(c) for c in WEB_COLUMNS}
    session = world.web_client("admin")
    anonymous = clients["anonymous"]
    problems, observed, count = [], [], 0
    for key in keys:
        route = key.partition("#")[0]
        columns = columns_of(key)
        got_rows = {}
        for name, expected in MATRIX[key].items():
            method, _, variant = name.partition("@")
            variant = variant or "A"
            path = fill(route, variant, world)
            got = []
            for column in columns:
                if group_of(key) == "api":
                    client = session if column == "session" else anonymous
                    kwargs = api_request(column, world, method, path, key, variant)
                else:
                    client = clients[column]
                    data = web_body(key, variant, world) if method == "POST" else None
                    kwargs = {"data": data} if data else {}
                got.append(outcome(client, method, path, **kwargs))
                count += 1
            got_rows[name] = got
            for column, want, have in zip(columns, expected.split(), got, strict=True):
                if want != have:
                    problems.append(f"{method} {path} as {column}: expected {want}, got {have}")
        if any(" ".join(got_rows[n]) != " ".join(MATRIX[key][n].split()) for n in got_rows):
            observed.append(
                f"    {key!r}: {{"
                + ", ".join(f'"{n}": "{" ".join(r)}"' for n, r in got_rows.items())
                + "},"
            )
    return problems, observed, count


@pytest.mark.parametrize("group", ["staff", "portal", "api"])
def test_authorisation_matrix(world, group):
    keys = [p.key for p in patterns() if p.key in MATRIX and group_of(p.key) == group]
    assert keys
    problems, observed, count = _run(world, keys)
    assert count >= len(keys) * len(WEB_COLUMNS)
    assert not problems, (
        f"{len(problems)} of {count} requests differ from the matrix:\n"
        + "\n".join(problems)
        + "\n\nobserved rows:\n"
        + "\n".join(observed)
    )


def test_admin_is_for_administrators(world):
    problems = []
    for path, expected in ADMIN_PAGES.items():
        for column, want in zip(WEB_COLUMNS, expected.split(), strict=True):
            have = outcome(world.web_client(column), "GET", path)
            if have != want:
                problems.append(f"GET {path} as {column}: expected {want}, got {have}")
    assert not problems, "\n".join(problems)


def test_bench_floor_is_off_unless_asked_for():
    assert not settings.TOUSU_BENCH_FLOOR
    assert "bench/floor" not in {p.key for p in patterns()}


# --- what lists show ----------------------------------------------------------------------------


def test_lists_and_searches_show_only_the_callers_department(world):
    """Beyond the status codes: the lists, exports and duplicate checks a department-A handler or
    an A-scoped token reads never name department B's case."""
    a, b = world.cases["A"], world.cases["B"]
    handler = world.web_client("handler")
    for path in ("/staff/", "/staff/cases/", "/staff/cases/?scope=all"):
        html = handler.get(path).content.decode()
        assert b.tracking_number not in html, path
    assert a.tracking_number in handler.get("/staff/cases/").content.decode()
    csv = b"".join(handler.get("/staff/reports/export.csv").streaming_content).decode("utf-8-sig")
    assert a.tracking_number in csv and b.tracking_number not in csv

    for column in ("handler", "officer_scoped_A"):
        auth = {"Authorization": f"Bearer {world.tokens[column]}"}
        api = world.web_client("anonymous")
        listed = api.get("/api/v1/complaints", headers=auth).json()
        numbers = {c["tracking_number"] for c in listed}
        assert a.tracking_number in numbers and b.tracking_number not in numbers, column
        # A and B were filed by the same phone number: B is a duplicate candidate of A.
        dups = api.get(f"/api/v1/triage/complaints/{a.pk}/duplicates", headers=auth).json()
        assert b.pk not in {d["id"] for d in dups}, column
    officer = {"Authorization": f"Bearer {world.tokens['officer']}"}
    dups = world.web_client("anonymous").get(
        f"/api/v1/triage/complaints/{a.pk}/duplicates", headers=officer
    )
    assert b.pk in {d["id"] for d in dups.json()}  # the unlimited officer does see it
    scoped = {"Authorization": f"Bearer {world.tokens['officer_scoped_A']}"}
    r = world.web_client("anonymous").post(
        "/api/v1/triage/suggest",
        data={"process": "generic", "text": b.content, "phone": "13812345678"},
        content_type="application/json",
        headers=scoped,
    )
    assert r.status_code == 200 and b.pk not in {d["id"] for d in r.json()["duplicates"]}
