from django.urls import include, path

from digest import views
from digest.bounces import webhook_urlpatterns

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    path("resubscribe/<str:token>/", views.resubscribe_view, name="resubscribe"),
    # Bounce/complaint webhooks from the mail provider (django-anymail), e.g.
    # /anymail/postmark/tracking/. Off unless ANYMAIL_WEBHOOK_SECRET is set.
    path("anymail/", include((webhook_urlpatterns(), "anymail"))),
]
