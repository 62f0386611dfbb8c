from django.urls import path

from . import views

app_name = "registers"
urlpatterns = [
    path("", views.upload, name="upload"),
    path("<int:pk>/", views.preview, name="preview"),
    path("<int:pk>/mapping/", views.remap, name="remap"),
    path("<int:pk>/confirm/", views.confirm, name="confirm"),
    path("replies.xlsx", views.reply_sheet, name="replies"),
]
