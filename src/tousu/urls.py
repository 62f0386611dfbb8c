from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from tousu.api.api import api

admin.site.site_header = "投诉处理系统 管理"
admin.site.site_title = "投诉处理系统"
admin.site.index_title = "系统管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("staff/reports/", include("tousu.reports.urls")),
    path("staff/work/", include("tousu.owners.urls")),
    path("staff/supervision/", include("tousu.supervision.urls")),
    path("staff/messages/", include("tousu.messaging.urls")),
    path("messages/", include("tousu.messaging.public_urls")),
    path("staff/documents/", include("tousu.documents.urls")),
    path("staff/import/", include("tousu.registers.urls")),
    path("staff/privacy/", include("tousu.ops.urls")),
    path("staff/account/", include("tousu.accounts.urls")),
    path("staff/triage/", include("tousu.triage.urls")),
    path("staff/", include("tousu.web.urls")),
    path("", include("tousu.portal.urls")),  # the public portal: complainants, on their phones
]

if getattr(settings, "TOUSU_BENCH_FLOOR", False):
    from tousu.web.views import bench_floor

    urlpatterns.append(path("bench/floor", bench_floor))
