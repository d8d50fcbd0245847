"""Helpers shared by the admin tests: curators, superusers, eager Celery tasks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from html.parser import HTMLParser

from django.contrib.auth.models import Group, Permission

from accounts.models import User
from tests.factories import UserFactory

PASSWORD = "correct horse battery"
HOSTILE = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


# What the migrations give the Curator group (tests/test_admin_permissions.py checks it).
CURATOR_PERMISSIONS = {
    "papers.view_paper",
    "papers.change_paper",
    "papers.view_source",
    "papers.add_source",
    "papers.change_source",
    "papers.view_sighting",
    "digests.view_digest",
    "digests.view_digestitem",
    "digests.view_delivery",
    "digests.view_suppression",
    "digests.view_deliveryhold",
    "subscriptions.view_feedback",
    "digests.hold_send",
    "digests.resend_delivery",
    "subscriptions.view_subscription",
    "subscriptions.view_match",
    "accounts.view_user",
}


def curator_group() -> Group:
    """The Curator group made by the data migrations. A transactional test (the browser tests)
    empties every table afterwards, so it is made again, with the same permissions, if gone
    (re-running the 0002 migration is not enough: 0003 moved its models to other apps)."""
    group = Group.objects.filter(name="Curator").first()
    if group is None:
        group = Group.objects.create(name="Curator")
        for name in sorted(CURATOR_PERMISSIONS):
            app_label, codename = name.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    return group


def make_curator(email: str = "curator@example.org") -> User:
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(curator_group())
    return User.objects.get(pk=user.pk)  # fresh, without a stale permission cache


def due_at(user: User, when) -> User:
    """Set when ``user``'s digest is due (saving a user recomputes it from their schedule)."""
    User.objects.filter(pk=user.pk).update(next_digest_at=when)
    user.next_digest_at = when
    return user


def make_superuser(email: str = "root@example.org") -> User:
    return UserFactory(email=email, is_staff=True, is_superuser=True)


@contextlib.contextmanager
def eager_tasks() -> Iterator[None]:
    """Run Celery tasks inline, in this process, for the duration of the block."""
    from digest.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = previous


class _FormParser(HTMLParser):
    """Collects the successful controls of one <form> the way a browser would submit it."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.data: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self._select_value: str | None = None
        self._select_first: str | None = None
        self._option: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data.append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.data.append((name, attrs.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            self._select, self._select_value, self._select_first = name, None, None
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in attrs:
                self._select_value = value

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self.data.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            value = self._select_value if self._select_value is not None else self._select_first
            self.data.append((self._select, value or ""))
            self._select = None
        elif tag == "form":
            self.inside = False


def form_data(html: str, form_id: str) -> dict[str, str | list[str]]:
    """What submitting form ``form_id`` of ``html`` unchanged would post."""
    parser = _FormParser(form_id)
    parser.feed(html)
    data: dict[str, str | list[str]] = {}
    for name, value in parser.data:
        if name in data:
            existing = data[name]
            data[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            data[name] = value
    return data
