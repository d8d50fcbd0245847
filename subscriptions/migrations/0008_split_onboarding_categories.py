"""Subscriptions made by onboarding before categories were a field of their own carry them in
their query, exactly as ``compose_query`` wrote it: ``(zero-shot) AND (cat:cs.CV OR cat:cs.LG)``,
or ``cat:cs.CV OR cat:cs.LG`` alone. Split those back into the query and ``categories`` so the
reader can see and change the categories in the form. Only that exact shape is split: a query
someone typed with ``cat:`` in it is theirs and stays as it is. The compiled query is the same
either way (``boolean_query()`` composes the two again), so the matches do not change."""

import re

from django.db import migrations

CATEGORY = r"cat:([A-Za-z-]+(?:\.[A-Za-z-]+)?)"
CATEGORIES = rf"{CATEGORY}(?: OR {CATEGORY})*"
WITH_QUERY = re.compile(rf"^\((?P<query>.+)\) AND \((?P<categories>{CATEGORIES})\)$")
ALONE = re.compile(rf"^(?P<categories>{CATEGORIES})$")


def balanced(text: str) -> bool:
    """Whether the parentheses outside quotes pair up: ``(a) AND (b)`` composed with a category
    reads ``((a) AND (b)) AND (cat:…)``, never ``(a) AND (b) AND (cat:…)``."""
    depth, quoted = 0, False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
            if depth < 0:
                return False
    return depth == 0


def split(query: str) -> tuple[str, list[str]] | None:
    """``(query, categories)`` for a query of the composed shape, else None."""
    for pattern in (WITH_QUERY, ALONE):
        found = pattern.match(query)
        if found:
            text = found.groupdict().get("query") or ""
            if not balanced(text):
                return None
            return text, re.findall(CATEGORY, found.group("categories"))
    return None


def forwards(apps, schema_editor):
    Subscription = apps.get_model("subscriptions", "Subscription")
    changed = []
    for subscription in Subscription.objects.filter(query__contains="cat:").only(
        "id", "query", "categories"
    ):
        parts = None if subscription.categories else split(subscription.query)
        if parts is None:
            continue
        subscription.query, subscription.categories = parts
        changed.append(subscription)
    Subscription.objects.bulk_update(changed, ["query", "categories"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0007_semantic_interests_and_categories")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
