"""Root URLconf. Each app owns its URLs; this file only mounts them."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("subscriptions/", include("subscriptions.urls")),
    path("", include("digest.web_urls")),
]

if settings.DEBUG:
    urlpatterns += [path("dev/", include("digest.dev_urls"))]
