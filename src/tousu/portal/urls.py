from django.urls import path
from django.views.generic import RedirectView

app_name = "portal"
urlpatterns = [
    # Until the portal's own pages exist, the root leads staff to their workbench.
    path("", RedirectView.as_view(pattern_name="web:home", permanent=False), name="home"),
]
