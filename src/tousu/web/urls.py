from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "web"
urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/bulk-assign/", views.bulk_assign, name="bulk_assign"),
    path("cases/filters/<int:pk>/delete/", views.delete_filter, name="delete_filter"),
    path("cases/new/", views.register, name="register"),
    path("cases/new/suggest/", views.register_suggest, name="register_suggest"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/reveal/", views.reveal, name="reveal"),
    path("cases/<int:pk>/attachments/", views.upload, name="upload"),
    path("cases/<int:pk>/attachments/<int:attachment_id>/", views.download, name="download"),
    path("cases/<int:pk>/actions/<slug:name>/", views.apply_action, name="apply_action"),
    path("cases/<int:pk>/clocks/<int:clock_id>/extend/", views.extend_clock, name="extend_clock"),
    path("leader/", views.leader_inbox, name="leader_inbox"),
    path("notifications/", views.notifications, name="notifications"),
]
