"""Root URLconf. Each app owns its URLs; this file only mounts them."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("account/", include("digest.web.account_urls")),
    path("subscriptions/", include("digest.web.subscription_urls")),
    path("", include("digest.web.urls")),
]

if settings.DEBUG:
    urlpatterns += [path("dev/", include("digest.web.dev_urls"))]
