"""The admin: papers and sources, digests and deliveries, subscribers, subscriptions, and the
curator's pages (today's issue, the dashboard). Django's admin autodiscovery imports this."""

from digest.web.admin import curation, subscriptions, today, users  # noqa: F401 (registers)
