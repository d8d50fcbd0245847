from django.urls import include, path

from digest.digests.bounces import webhook_urlpatterns
from digest.web import email_links as views
from digest.web import views as web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    path("papers/", web_views.papers_day, name="papers_today"),
    path("papers/<str:day>/", web_views.papers_day, name="papers_day"),
    # The paper's key ("arxiv:2607.26654"; keys of papers without an arXiv id may hold slashes).
    path("paper/<path:key>", web_views.paper, name="paper"),
    path("digests/", web_views.archive_list, name="archive"),
    path("digests/<int:pk>/", web_views.archive_digest, name="archive_digest"),
    path("d/<str:token>/", web_views.digest_web, name="digest_web"),
    path("f/<str:token>/", web_views.feedback, name="feedback"),
    path("feed/<str:token>.atom", web_views.feed, name="feed"),
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    path("resubscribe/<str:token>/", views.resubscribe_view, name="resubscribe"),
    # Bounce/complaint webhooks from the mail provider (django-anymail), e.g.
    # /anymail/postmark/tracking/. Off unless ANYMAIL_WEBHOOK_SECRET is set.
    path("anymail/", include((webhook_urlpatterns(), "anymail"))),
]
