from django.contrib import admin
from django.urls import include, path

from reports import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("reports/", views.report_list, name="reports"),
    path("reports/new/", views.new_report, name="new_report"),
    path("storages/direct/", include("storages.direct.urls")),
]
