"""Staff pages (under /staff/triage/)."""

from django.urls import path

from . import views

app_name = "triage"
urlpatterns = [
    path("cases/<int:pk>/auto-route/undo/", views.route_undo, name="route_undo"),
    path("cases/<int:pk>/auto-route/correct/", views.route_correct, name="route_correct"),
]
