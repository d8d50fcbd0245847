"""allauth glue: every account email goes through the one composer, links point at SITE_URL,
the sign-up time zone is stored, and new users land where they should."""

from __future__ import annotations

from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse

from accounts.forms import clean_timezone_name
from digest import mail


def site_url(path: str) -> str:
    """An absolute URL on the canonical site, whatever Host header the request came with:
    links in mail must not depend on (or be poisoned by) the request."""
    return settings.SITE_URL + path


def canonical(url: str) -> str:
    """``url`` with its scheme and host replaced by SITE_URL's."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return site_url(path)


def email_name(template_prefix: str) -> str:
    """``account/email/password_reset_key`` → ``account-password-reset-key``."""
    kind = template_prefix.rsplit("/", 1)[-1]
    # Sign-up and later confirmations say the same thing.
    if kind == "email_confirmation_signup":
        kind = "email_confirmation"
    return "account-" + kind.replace("_", "-")


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        name = email_name(template_prefix)
        try:
            get_template(f"emails/{name}-body.mjml")
        except TemplateDoesNotExist:
            # An allauth email we have no template for (a notification turned on later):
            # still through the composer, with allauth's own words inside our layout.
            name, context = "account-notice", self._notice_context(template_prefix, email, context)
        full_context = {
            **context,
            "email": email,
            "login_url": site_url(reverse("account_login")),
            "signup_url": site_url(reverse("account_signup")),
            "password_reset_url": site_url(reverse("account_reset_password")),
            "preheader": "",
        }
        for key in ("activate_url", "password_reset_url"):
            if context.get(key):
                full_context[key] = canonical(context[key])
        mail.send(name, to=email, context=full_context)

    def _notice_context(self, template_prefix: str, email: str, context: dict) -> dict:
        message = super().render_mail(template_prefix, email, {"email": email, **context})
        return {**context, "title": message.subject, "paragraphs": message.body.split("\n\n")}

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return canonical(super().get_email_confirmation_url(request, emailconfirmation))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return canonical(super().get_reset_password_from_key_url(key))

    def save_user(self, request: HttpRequest, user, form, commit: bool = True):
        user = super().save_user(request, user, form, commit=False)
        user.timezone = clean_timezone_name(form.cleaned_data.get("timezone"))
        if commit:
            user.save()
        return user

    def _first_page(self, user) -> str | None:
        """New subscribers (no subscription yet) go to onboarding first."""
        if user is not None and user.is_authenticated and not user.subscriptions.exists():
            return reverse("accounts:onboarding")
        return None

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        # Where the login after confirming the address goes (allauth stashes it at sign-up).
        return reverse("accounts:onboarding")

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return self._first_page(request.user) or super().get_login_redirect_url(request)

    def get_email_verification_redirect_url(self, email_address) -> str:
        return self._first_page(email_address.user) or super().get_email_verification_redirect_url(
            email_address
        )
