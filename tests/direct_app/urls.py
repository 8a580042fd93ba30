from django.urls import include, path

from tests.direct_app import views

urlpatterns = [
    path("upload/", views.page, name="direct-page"),
    path("storages/direct/", include("storages.direct.urls")),
]
