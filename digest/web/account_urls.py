from django.urls import path

from digest.web import account as views
from digest.web import ratings

app_name = "accounts"
urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("welcome/", views.onboarding, name="onboarding"),
    path("pause/", views.pause, name="pause"),
    path("resume/", views.resume, name="resume"),
    path("feed/rotate/", views.rotate_feed, name="rotate_feed"),
    path("export/", views.export, name="export"),
    path("delete/", views.delete, name="delete"),
    path("ratings/", ratings.ratings, name="ratings"),
    path("ratings/<int:pk>/undo/", ratings.undo, name="rating_undo"),
    path("ratings/<int:pk>/switch/", ratings.switch, name="rating_switch"),
    path("ratings/paper/<int:paper_id>/<str:kind>/", ratings.rate_paper, name="rate_paper"),
]
