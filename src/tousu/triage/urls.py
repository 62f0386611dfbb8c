"""Staff pages (under /staff/triage/)."""

from django.urls import path

from . import routing_views, views

app_name = "triage"
urlpatterns = [
    path("cases/<int:pk>/link/", views.link, name="link"),
    path("cases/<int:pk>/unlink/", views.unlink, name="unlink"),
    path("cases/<int:pk>/merge/", views.merge, name="merge"),
    path("cases/<int:pk>/auto-route/undo/", routing_views.route_undo, name="route_undo"),
    path("cases/<int:pk>/auto-route/correct/", routing_views.route_correct, name="route_correct"),
]
