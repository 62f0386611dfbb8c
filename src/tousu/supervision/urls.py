from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("cases/<int:pk>/chase/", views.chase, name="chase"),
    path("cases/<int:pk>/supervise/", views.place, name="place"),
    path("cases/<int:pk>/supervise/<int:supervision_id>/answer/", views.answer, name="answer"),
]
