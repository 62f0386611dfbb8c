from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [path("password/", views.password, name="password")]
