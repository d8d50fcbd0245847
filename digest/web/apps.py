from django.apps import AppConfig


class WebConfig(AppConfig):
    """Every page and the admin: the top layer, which reads and calls the apps below."""

    name = "digest.web"
    label = "web"
    verbose_name = "Pages and admin"
