"""Sign-up, verification, password reset and sign-in codes: allauth, with every email built by
the one composer and delivered over real SMTP to the loopback sink."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib.sites.models import Site
from django.urls import reverse

from accounts.models import User
from accounts.site import sync_site_from_settings
from tests.factories import UserFactory
from tests.mailhelpers import html_of, link_containing, path_of, text_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]

PASSWORD = "a long enough passphrase 42"


def sign_up(client, email="new.reader@example.org", timezone="Europe/Berlin"):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD, "timezone": timezone},
    )


def test_sign_up_sends_a_verification_email_through_the_composer(client, smtp_sink):
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    [message] = smtp_sink.messages
    assert message["To"] == "new.reader@example.org"
    assert message["Subject"] == "Confirm your email address for Paperboy"
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"] and message["Auto-Submitted"] == "auto-generated"
    link = link_containing(message, "/accounts/confirm-email/")
    assert link.startswith("http://localhost:8000/")  # SITE_URL, not the request's host
    assert link in html_of(message)
    assert "Confirm my email address" in html_of(message)


def test_confirming_the_email_logs_in_and_lands_on_onboarding(client, smtp_sink):
    sign_up(client)
    link = link_containing(smtp_sink.messages[0], "/accounts/confirm-email/")
    page = client.get(path_of(link))
    assert page.status_code == 200 and b"new.reader@example.org" in page.content
    confirmed = client.post(path_of(link))
    assert confirmed.status_code == 302
    assert confirmed["Location"] == reverse("accounts:onboarding")
    assert EmailAddress.objects.get(email="new.reader@example.org").verified
    assert client.get(reverse("subscriptions:list")).status_code == 200


def test_unverified_user_cannot_log_in(client, smtp_sink):
    sign_up(client)
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": "new.reader@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert client.get(reverse("subscriptions:list")).status_code == 302


def test_sign_up_stores_the_browser_time_zone(client, smtp_sink):
    sign_up(client, timezone="America/Argentina/Buenos_Aires")
    assert User.objects.get().timezone == "America/Argentina/Buenos_Aires"


@pytest.mark.parametrize("sent", ["", "Mars/Olympus_Mons", "<script>"])
def test_sign_up_without_a_valid_time_zone_uses_utc(client, smtp_sink, sent):
    sign_up(client, timezone=sent)
    assert User.objects.get().timezone == "UTC"


def test_sign_up_page_has_a_hidden_time_zone_field_and_the_detection_script(client):
    page = client.get(reverse("account_signup")).content.decode()
    assert 'type="hidden" name="timezone" value="UTC"' in page
    assert "js/timezone.js" in page


def test_signing_up_with_a_taken_address_does_not_reveal_it(client, smtp_sink):
    UserFactory(email="taken@example.org")
    response = sign_up(client, email="taken@example.org")
    # Same answer as for a new address; the owner gets an email instead.
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    [message] = smtp_sink.messages
    assert message["Subject"] == "You already have a Paperboy account"
    assert "http://localhost:8000/accounts/password/reset/" in text_of(message)


def test_password_reset_email_goes_through_the_composer_and_works(client, smtp_sink):
    UserFactory(email="forgetful@example.org")
    response = client.post(reverse("account_reset_password"), {"email": "forgetful@example.org"})
    assert response.status_code == 302
    [message] = smtp_sink.messages
    assert message["Subject"] == "Reset your Paperboy password"
    assert message.get_content_type() == "multipart/alternative"
    link = link_containing(message, "/accounts/password/reset/key/")
    form_page = client.get(path_of(link), follow=True)
    assert form_page.status_code == 200
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else path_of(link)
    done = client.post(
        action, {"password1": "a brand new passphrase 7", "password2": "a brand new passphrase 7"}
    )
    assert done.status_code == 302
    assert User.objects.get(email="forgetful@example.org").check_password(
        "a brand new passphrase 7"
    )


def test_password_reset_for_an_unknown_address_looks_the_same(client, smtp_sink):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    [message] = smtp_sink.messages
    assert message["Subject"] == "About your Paperboy request"
    assert "no account for this address" in text_of(message)


def test_login_by_code_emails_a_code_that_logs_in(client, smtp_sink):
    UserFactory(email="codes@example.org")
    response = client.post(reverse("account_request_login_code"), {"email": "codes@example.org"})
    assert response.status_code == 302
    [message] = smtp_sink.messages
    assert message["Subject"].startswith("Your Paperboy sign-in code: ")
    code = message["Subject"].rsplit(" ", 1)[-1]
    assert code in text_of(message) and code in html_of(message)
    confirmed = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert confirmed.status_code == 302
    assert client.get(reverse("subscriptions:list")).status_code == 200


def test_login_code_for_an_unknown_address_does_not_reveal_it(client, smtp_sink):
    response = client.post(reverse("account_request_login_code"), {"email": "ghost@example.org"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_login_code")
    [message] = smtp_sink.messages
    assert message["Subject"] == "About your Paperboy request"


def test_site_follows_site_url_after_migrate(settings):
    settings.SITE_URL = "https://papers.example.net"
    settings.SITE_NAME = "Lab Papers"
    sync_site_from_settings()
    site = Site.objects.get_current()
    assert (site.domain, site.name) == ("papers.example.net", "Lab Papers")


def test_account_pages_use_the_site_layout(client):
    for name in (
        "account_login",
        "account_signup",
        "account_reset_password",
        "account_request_login_code",
    ):
        page = client.get(reverse(name)).content.decode()
        assert '<nav class="site-nav" aria-label="Main">' in page, name
        assert 'id="main"' in page, name


def test_logging_in_with_subscriptions_lands_on_my_subscriptions(client):
    from tests.factories import SubscriptionFactory

    user = UserFactory(email="regular@example.org")
    SubscriptionFactory(owner=user)
    response = client.post(
        reverse("account_login"),
        {"login": "regular@example.org", "password": "correct horse battery"},
    )
    assert response["Location"] == reverse("subscriptions:list")


def test_logging_in_without_subscriptions_lands_on_onboarding(client):
    UserFactory(email="fresh@example.org")
    response = client.post(
        reverse("account_login"),
        {"login": "fresh@example.org", "password": "correct horse battery"},
    )
    assert response["Location"] == reverse("accounts:onboarding")
