from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.site import sync_site_from_settings

        # After every migrate (not once, in a data migration): SITE_URL may change later.
        post_migrate.connect(sync_site_from_settings, sender=self)
