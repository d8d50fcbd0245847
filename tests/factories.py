"""factory-boy factories for every model the tests build."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from accounts.models import User
from digest.digests.models import Delivery, Digest, DigestItem
from digest.papers.models import Paper, Source
from subscriptions.models import Subscription


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"reader{n}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):  # noqa: N805
        """Users are verified unless built with ``verified=False``."""
        if not create:
            return
        obj.save()
        if extracted is not False:
            from allauth.account.models import EmailAddress

            EmailAddress.objects.update_or_create(
                user=obj, email=obj.email, defaults={"verified": True, "primary": True}
            )


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"source-{n}")
    kind = Source.Kind.ARXIV_FEED
    url = factory.LazyAttribute(lambda o: f"https://rss.arxiv.org/rss/{o.name}")


class PaperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Paper

    arxiv_id = factory.Sequence(lambda n: f"2601.{n:05d}")
    key = factory.LazyAttribute(
        lambda o: f"arxiv:{o.arxiv_id}" if o.arxiv_id else f"url:{o.abs_url}"
    )
    arxiv_version = 1
    title = factory.Sequence(lambda n: f"A study of things, part {n}")
    abstract = "We study things. Our results are good."
    authors = factory.LazyFunction(lambda: ["Ada Lovelace", "Alan Turing"])
    categories = factory.LazyFunction(lambda: ["cs.LG"])
    primary_category = "cs.LG"
    announced_on = factory.LazyFunction(lambda: timezone.localdate())
    published_at = factory.LazyFunction(timezone.now)
    abs_url = factory.LazyAttribute(lambda o: f"https://arxiv.org/abs/{o.arxiv_id}")
    pdf_url = factory.LazyAttribute(lambda o: f"https://arxiv.org/pdf/{o.arxiv_id}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Subscription {n}")
    query = "zero-shot"


class DigestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Digest

    user = factory.SubFactory(UserFactory)
    date = factory.LazyFunction(timezone.localdate)
    period_end = factory.LazyFunction(timezone.now)
    period_start = factory.LazyAttribute(lambda o: o.period_end - dt.timedelta(days=1))


class DigestItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DigestItem

    digest = factory.SubFactory(DigestFactory)
    user = factory.LazyAttribute(lambda o: o.digest.user)
    paper = factory.SubFactory(PaperFactory)
    rank = factory.Sequence(lambda n: n)


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    digest = factory.SubFactory(DigestFactory)
    to_email = factory.LazyAttribute(lambda o: o.digest.user.email)
