from django.urls import path

from digest import web_views

urlpatterns: list = [
    path("", web_views.home, name="home"),
    path("papers/", web_views.papers_day, name="papers_today"),
    path("papers/<str:day>/", web_views.papers_day, name="papers_day"),
    path("digests/", web_views.archive_list, name="archive"),
    path("digests/<int:pk>/", web_views.archive_digest, name="archive_digest"),
    path("d/<str:token>/", web_views.digest_web, name="digest_web"),
    path("f/<str:token>/", web_views.feedback, name="feedback"),
    path("feed/<str:token>.atom", web_views.feed, name="feed"),
]
