"""What the root URLconf includes at "": the public portal. No app_name here, so the "portal"
namespace of tousu.portal.routes stays top-level."""

from django.urls import include, path

urlpatterns = [path("", include("tousu.portal.routes"))]
