from django.urls import path

from digest.web import queries as query_views
from digest.web import subscriptions as views

app_name = "subscriptions"
urlpatterns = [
    path("", views.subscription_list, name="list"),
    path("add/", views.subscription_add, name="add"),
    path("<int:pk>/edit/", views.subscription_edit, name="edit"),
    path("<int:pk>/delete/", views.subscription_delete, name="delete"),
    path("send-now/", views.send_digest_now, name="send_now"),
    path("preview.html", views.preview_fragment, name="preview_fragment"),
    path("help/", query_views.query_help, name="query_help"),
    path("preview.json", query_views.preview_json, name="preview"),
]
