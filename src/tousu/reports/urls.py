from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.<str:fmt>", views.export, name="export"),
    path("periodic/", views.report_list, name="report_list"),
    path("periodic/new/", views.report_request, name="report_request"),
    path("periodic/<int:pk>/download/", views.report_download, name="report_download"),
]
