from django.urls import path

from . import views

app_name = "triage"
urlpatterns = [
    path("cases/<int:pk>/link/", views.link, name="link"),
    path("cases/<int:pk>/unlink/", views.unlink, name="unlink"),
    path("cases/<int:pk>/merge/", views.merge, name="merge"),
]
