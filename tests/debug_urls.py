"""The project's URLs plus the DEBUG-only /dev/ routes (pytest-django turns DEBUG off before
digest.urls is imported, so tests that need /dev/mailbox point ROOT_URLCONF here)."""

from django.urls import include, path

from digest.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("dev/", include("digest.web.dev_urls"))]
