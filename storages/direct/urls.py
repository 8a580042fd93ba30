"""``path("storages/direct/", include("storages.direct.urls"))`` in the project's URL conf."""

from django.urls import path

from storages.direct import views

app_name = "storages_direct"
urlpatterns = [path("ticket/", views.ticket, name="ticket")]
