from django.urls import path

from . import views

app_name = "documents"
urlpatterns = [
    path("cases/<int:pk>/", views.case_documents, name="case"),
    path("cases/<int:pk>/issue/", views.issue, name="issue"),
    path("<int:doc_pk>/correct/", views.correct, name="correct"),
    path("<int:doc_pk>/pdf/", views.download, name="download"),
    path("templates/<int:template_pk>/preview/", views.preview, name="preview"),
]
