"""Staff pages (under /staff/messages/)."""

from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("settings/", views.preferences, name="preferences"),
    path("cases/<int:pk>/optout/", views.case_optout, name="case_optout"),
]
