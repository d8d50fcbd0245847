"""Data migrations, run on a database at the migration before them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

SPLIT = ("subscriptions", "0008_split_onboarding_categories")
BEFORE = ("subscriptions", "0007_semantic_interests_and_categories")


def migrate(target: tuple[str, str]):
    """Migrate the test database to ``target`` (forwards or backwards); its models then."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.mark.django_db(transaction=True)
def test_onboarding_categories_in_a_query_become_the_subscriptions_own():
    apps = migrate(BEFORE)
    User = apps.get_model("accounts", "User")
    Subscription = apps.get_model("subscriptions", "Subscription")
    owner = User.objects.create(email="old@example.org")
    queries = {
        "composed": "(zero-shot) AND (cat:cs.CV OR cat:cs.CL)",
        "alone": "cat:cs.LG",
        "typed": "zero-shot AND cat:cs.CV",  # someone's own query: theirs as written
        "unbalanced": "(a) AND (b) AND (cat:cs.CV)",  # not what onboarding wrote
    }
    for name, query in queries.items():
        Subscription.objects.create(owner=owner, name=name, query=query)
    try:
        apps = migrate(SPLIT)
        Subscription = apps.get_model("subscriptions", "Subscription")
        after = {s.name: (s.query, s.categories) for s in Subscription.objects.all()}
        assert after == {
            "composed": ("zero-shot", ["cs.CV", "cs.CL"]),
            "alone": ("", ["cs.LG"]),
            "typed": ("zero-shot AND cat:cs.CV", []),
            "unbalanced": ("(a) AND (b) AND (cat:cs.CV)", []),
        }
    finally:
        migrate_to_latest()


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
