from django.urls import path

from . import views

app_name = "ops"
urlpatterns = [path("disclosures/", views.disclosure_log, name="disclosures")]
