from django.urls import path

from . import views

app_name = "owners"
urlpatterns = [
    path("workload/", views.workload, name="workload"),
    path("cases/<int:pk>/owner/", views.assign, name="assign"),
    path("cases/<int:pk>/claim/", views.claim, name="claim"),
    path("cases/<int:pk>/tasks/<int:task_id>/owner/", views.assign, name="assign_task"),
    path("cases/<int:pk>/tasks/<int:task_id>/claim/", views.claim, name="claim_task"),
]
