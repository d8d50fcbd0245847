from django.urls import path

from digest.web import dev as dev_views

app_name = "dev"
urlpatterns: list = [
    path("mailbox/", dev_views.mailbox, name="mailbox"),
    path("mailbox/<str:name>/", dev_views.mailbox_message, name="mailbox_message"),
]
