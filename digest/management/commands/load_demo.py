"""``manage.py load_demo``: the real sources a new installation reads, demo papers from real
recorded data, a demo user and an admin."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from digest.demo import load


class Command(BaseCommand):
    help = (
        "Create the default sources (arXiv listings of ARXIV_CATEGORIES, Hugging Face daily "
        "papers), load demo papers (real recorded feeds), a demo subscriber and an admin. "
        "Idempotent."
    )

    def handle(self, *args: object, **options: object) -> None:
        report = load.load_demo()
        say = self.stdout.write
        for line in report.sources_created:
            say(f"  source created, enabled: {line}")
        for line in report.notes:
            say(self.style.WARNING(f"  {line}"))
        for line in report.feeds:
            say(f"  ingested {line}")
        say(
            f"  Hugging Face page papers: {report.hf_pages_created} new of "
            f"{report.hf_pages_total} (announced today)"
        )
        say(f"  users created: {', '.join(report.users_created) or 'none (already there)'}")
        say(f"  subscriptions created: {report.subscriptions_created}")
        say(f"  match step: {report.papers_matched} papers matched")
        site = settings.SITE_URL
        say(self.style.SUCCESS("Demo ready."))
        say(f"  Open {site}/ — today's papers and the sign-up form.")
        say(f"  Log in as {load.DEMO_EMAIL} / {load.DEMO_PASSWORD}: {site}/subscriptions/")
        say(
            f"  Admin: {site}/admin/ as {load.ADMIN_EMAIL} / {load.ADMIN_PASSWORD}; logged in as "
            f'admin, "Send today\'s digest now" is on {site}/subscriptions/'
        )
        if settings.DEBUG:
            say(f"  Mail lands in {site}/dev/mailbox/")
