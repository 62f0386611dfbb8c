"""The public portal's pages (namespace "portal")."""

from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.submit, name="home"),
    path("receipt/", views.receipt, name="receipt"),
    path("track/", views.track, name="track"),
    path("track/<str:number>/", views.case, name="case"),
    path("track/<str:number>/respond/<slug:name>/", views.respond, name="respond"),
    path("track/<str:number>/leave/", views.leave, name="leave"),
    path("track/<str:number>/files/<int:pk>/", views.attachment, name="attachment"),
    path("track/<str:number>/documents/<int:pk>/", views.document, name="document"),
    path("notice/", views.notice, name="notice"),
    path("notice/poster.pdf", views.poster, name="poster"),
]
