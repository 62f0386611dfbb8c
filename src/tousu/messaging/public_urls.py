"""Public pages (under /messages/): a complainant's opt-out, without logging in."""

from django.urls import path

from . import views

app_name = "messaging_public"
urlpatterns = [
    path("optout/<str:token>/", views.optout_link, name="optout"),
    path("track/<str:number>/optout/", views.portal_optout, name="portal_optout"),
]
