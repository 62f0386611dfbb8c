"""What the root URLconf includes at "": the public portal, and, until the root URLconf mounts
`tousu.documents.urls` at "staff/documents/" itself, the staff document views. This module has no
app_name, so both namespaces ("portal", "documents") stay top-level."""

from django.urls import include, path

urlpatterns = [
    path("staff/documents/", include("tousu.documents.urls")),
    path("", include("tousu.portal.routes")),
]
