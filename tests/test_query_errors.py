"""Every invalid query gets a precise error: what is wrong, at which column, what was expected.
In the subscription form it is a field error, never a 500."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from subscriptions.models import Subscription
from subscriptions.query import MAX_QUERY_LENGTH, QueryError, parse
from tests.factories import SubscriptionFactory, UserFactory

# (query, str(QueryError)) — the position is the column minus one.
ERRORS = [
    ("", 'Empty query at column 1: expected a word, a "phrase" or "(", e.g. "zero-shot" diffusion'),
    (
        "   ",
        'Empty query at column 1: expected a word, a "phrase" or "(", e.g. "zero-shot" diffusion',
    ),
    (
        "x" * (MAX_QUERY_LENGTH + 1),
        f"Query too long ({MAX_QUERY_LENGTH + 1} characters) at column {MAX_QUERY_LENGTH + 1}:"
        f" expected at most {MAX_QUERY_LENGTH} characters",
    ),
    (
        "(diffusion OR video",
        'Unbalanced parenthesis at column 20: expected ")" to close the "(" at column 1',
    ),
    ("diffusion OR video)", 'Unbalanced parenthesis at column 19: expected a "(" before this ")"'),
    (
        "AND diffusion",
        'AND at the start of the query at column 1: expected a word, a "phrase" or "(" before AND',
    ),
    (
        "diffusion AND",
        'Missing term after AND at column 11: expected a word, a "phrase" or "(" after AND',
    ),
    (
        "diffusion NOT",
        'Missing term after NOT at column 11: expected a word, a "phrase" or "(" after NOT',
    ),
    (
        "diffusion -",
        'Missing term after - at column 11: expected a word, a "phrase" or "(" after -',
    ),
    (
        "video OR OR audio",
        'OR right after OR at column 10: expected a word, a "phrase" or "(" between them',
    ),
    (
        "video (OR audio)",
        'OR right after "(" at column 8: expected a word, a "phrase" or "(" before OR',
    ),
    (
        "video () audio",
        'Empty parentheses at column 7: expected a word, a "phrase" or "(" inside them',
    ),
    (
        "(video OR ) audio",
        'Missing term after OR at column 8: expected a word, a "phrase" or "(" after OR',
    ),
    (
        "((((( video )))))",
        "Too deeply nested at column 5: expected at most 4 levels of parentheses",
    ),
    (
        "venue:ICLR",
        'Unknown field "venue" at column 1: expected title:, abstract:, author: or cat:',
    ),
    (
        "title:",
        'Missing value after title: at column 1: expected a word, a "phrase" or "(" right after'
        " title:",
    ),
    (
        "title:-video",
        'Missing value after title: at column 1: expected a word, a "phrase" or "(" right after'
        " title:",
    ),
    (
        "title:(abstract:video)",
        'Field "abstract:" inside another field at column 8: expected a word, a "phrase" or "("'
        " inside the field's parentheses",
    ),
    (
        ": video",
        'Unexpected ":" at column 1: expected a field name such as title:, abstract:, author: or'
        " cat: before it",
    ),
    ('"zero shot', 'Unclosed quote at column 1: expected a closing " to end the phrase'),
    (
        "'zero shot'",
        'Single quotes are not supported at column 1: expected double quotes: "a phrase"',
    ),
    ("video^2", "Boosting with ^ is not supported at column 6: expected a word without ^"),
    (
        "video~",
        "Fuzzy and proximity search with ~ is not supported at column 6: expected a word without ~",
    ),
    (
        '"zero shot"~3',
        "Fuzzy and proximity search with ~ is not supported at column 12:"
        " expected a word without ~",
    ),
    (
        "video [2020 TO 2024]",
        'Ranges are not supported at column 7: expected a word, a "phrase" or "("; parentheses are'
        " ( )",
    ),
    (
        "{a TO b}",
        'Ranges are not supported at column 1: expected a word, a "phrase" or "("; parentheses'
        " are ( )",
    ),
    (
        "/diffusion/",
        'Regular expressions are not supported at column 1: expected a word, a "phrase" or "("',
    ),
    ("<5", 'Comparisons with < are not supported at column 1: expected a word, a "phrase" or "("'),
    (">5", 'Comparisons with > are not supported at column 1: expected a word, a "phrase" or "("'),
    ("video\\", "Backslash at the end of the query at column 6: expected a character after \\"),
    (
        "NOT survey",
        "Nothing to look for, only exclusions at column 1: expected at least one word to look for,"
        ' e.g. "diffusion -survey"',
    ),
    (
        "-survey -review",
        "Nothing to look for, only exclusions at column 1: expected at least one word to look for,"
        ' e.g. "diffusion -survey"',
    ),
    (
        "diffusion OR -survey",
        "OR with only an exclusion on one side at column 14: expected something to look for on"
        " each side of OR (that side matches almost every paper)",
    ),
    ("dif*sion", "Wildcard inside a word at column 4: expected * only at the end of a word"),
    ("*fusion", "Wildcard inside a word at column 1: expected * only at the end of a word"),
    ("diffusi?n", 'Unsupported wildcard "?" at column 8: expected * at the end of a word'),
    ("di*", 'Wildcard "di*" is too short at column 1: expected at least 3 letters before *'),
    ("*", "Wildcard without a word at column 1: expected at least 3 letters before *"),
    (
        "zero-sh*",
        'Wildcard on more than one word in "zero-sh*" at column 1: expected a single word before *'
        " (no hyphens)",
    ),
    (
        '"diffusion mod*"',
        'Wildcard inside a "phrase" at column 15: expected * only at the end of a single word,'
        " unquoted",
    ),
    ("&&", 'No letters or digits in "&&" at column 1: expected a word'),
    ('video ""', 'Empty "phrase" at column 7: expected words between the quotes'),
    (
        '"a b c d e f g h i"',
        "Phrase too long (9 words) at column 1: expected at most 8 words",
    ),
    (
        " ".join(f"w{n}" for n in range(21)),
        "Too many terms at column 71: expected at most 20 words, phrases, authors or categories",
    ),
    (
        'author:"Y. L."',
        'Only initials in author:"Y. L." at column 8: expected a family name, e.g.'
        ' author:"Y. LeCun"',
    ),
    ('author:""', 'Missing author name at column 8: expected a name, e.g. author:"Yann LeCun"'),
    (
        'author:"ab cd ef gh ij kl mn"',
        "Author name too long at column 8: expected at most 6 name parts",
    ),
    (
        "author:LeC*",
        "Wildcards are not supported in author: at column 11: expected a full name, e.g."
        ' author:"Yann LeCun"',
    ),
    (
        "cat:cs!",
        'Invalid category "cs!" at column 5: expected an arXiv category such as cs.CV, an archive'
        " such as cs, or a prefix such as cs.*",
    ),
    (
        "cat:*",
        'Invalid category "*" at column 5: expected an arXiv category such as cs.CV, an archive'
        " such as cs, or a prefix such as cs.*",
    ),
    (
        'cat:"cs CV"',
        'Invalid category "cs CV" at column 5: expected an arXiv category such as cs.CV, an'
        " archive such as cs, or a prefix such as cs.*",
    ),
]


@pytest.mark.parametrize(("query", "message"), ERRORS, ids=[q[:30] or "empty" for q, _ in ERRORS])
def test_every_invalid_query_has_a_precise_error(query, message):
    with pytest.raises(QueryError) as caught:
        parse(query)
    error = caught.value
    assert str(error) == message
    assert (
        str(error) == f"{error.message} at column {error.position + 1}: expected {error.expected}"
    )
    assert 0 <= error.position <= len(query)


def test_the_error_position_points_into_the_query():
    with pytest.raises(QueryError) as caught:
        parse('title:"zero shot" OR venue:ICLR')
    assert caught.value.position == 'title:"zero shot" OR venue:ICLR'.index("venue")
    assert caught.value.message == 'Unknown field "venue"'
    assert caught.value.expected == "title:, abstract:, author: or cat:"


@pytest.mark.parametrize(
    "query",
    [
        "a" * 500,
        " ".join(f"w{n}" for n in range(20)),
        "((((a))))",
        '"a b c d e f g h"',
        "title: video",
        "C++ OR F#",
        "GPT-3.5",
        "and or not",
        "TO",
        "+diffusion",
        "video -(audio OR speech)",
    ],
)
def test_queries_at_the_limits_are_valid(query):
    parse(query)


@pytest.mark.django_db
def test_model_validation_reports_the_query_error_on_the_query_field():
    subscription = Subscription(owner=UserFactory(), name="x", query="(diffusion OR video")
    with pytest.raises(ValidationError) as caught:
        subscription.full_clean()
    assert caught.value.message_dict == {
        "query": ['Unbalanced parenthesis at column 20: expected ")" to close the "(" at column 1']
    }


@pytest.mark.django_db
def test_an_invalid_query_in_the_form_is_a_field_error_not_a_500(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("subscriptions:add"),
        {"name": "Mine", "query": "diffusion AND", "enabled": "on", "action": "save"},
    )
    assert response.status_code == 200
    assert "Missing term after AND at column 11" in response.content.decode()
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_a_query_with_percent_signs_is_reported_not_crashed():
    subscription = SubscriptionFactory.build(owner=UserFactory(), query="100%(s) %(x)s AND")
    with pytest.raises(ValidationError) as caught:
        subscription.full_clean()
    assert "Missing term after AND" in caught.value.message_dict["query"][0]


@pytest.mark.django_db
def test_a_subscription_saved_with_an_invalid_query_is_stored_uncompiled_and_skipped():
    subscription = SubscriptionFactory(query="(oops")
    assert subscription.compiled == ""
    valid = SubscriptionFactory(query="zero-shot")
    assert valid.compiled.startswith("[1,")
