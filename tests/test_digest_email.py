"""The digest email: what a subscriber sees, in HTML and plain text, and its headers."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest import mail as composer
from digest.digests import links
from digest.digests.compose import build_digest
from digest.digests.email import TEXT_WIDTH, render_digest_email, wrap
from digest.digests.models import DigestItem
from subscriptions.models import Match
from tests.factories import (
    DigestFactory,
    DigestItemFactory,
    PaperFactory,
    SubscriptionFactory,
    UserFactory,
)
from tests.realpapers import real_rows

NOW = dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)
HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(2)>'


def add_paper(subscription, terms=(("zero-shot", "abstract"),), score=1.0, **fields):
    paper = PaperFactory(created_at=NOW - dt.timedelta(hours=2), **fields)
    Match.objects.create(
        subscription=subscription,
        paper=paper,
        owner=subscription.owner,
        hits=[{"term": t, "field": f} for t, f in terms],
        score=score,
    )
    return paper


@pytest.fixture
def subscription(db):
    return SubscriptionFactory(owner=UserFactory(), name="Zero-shot", query="zero-shot")


def parsed(message):
    return email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


def html_of(message) -> str:
    return message.alternatives[0][0]


def test_header_counts_papers_and_names_the_day(subscription):
    for _ in range(12):
        add_paper(subscription)
    message = render_digest_email(build_digest(subscription.owner, now=NOW))
    assert message.subject == "12 new papers for you — Tue 24 Nov"
    assert "12 new papers for you" in html_of(message)
    assert message.body.startswith("12 new papers for you — Tue 24 Nov")


def test_each_paper_shows_title_link_authors_categories_abstract_links_and_why(subscription):
    add_paper(
        subscription,
        terms=[("zero-shot", "title"), ("zero-shot", "abstract")],
        title="Zero-shot segmentation",
        abstract="We do zero-shot segmentation. " + "It works well. " * 40,
        authors=["A One", "B Two", "C Three", "D Four", "E Five"],
        categories=["cs.CV", "cs.LG"],
        code_url="https://github.com/x/seg",
        hf_url="https://huggingface.co/papers/2601.00001",
        curator_note="A strong baseline.",
    )
    message = render_digest_email(build_digest(subscription.owner, now=NOW))
    html, text = html_of(message), message.body
    assert '<a href="https://arxiv.org/abs/' in html
    assert "A One, B Two, C Three et al." in html and "cs.CV, cs.LG" in html
    assert "<mark>zero-shot</mark> segmentation" in html
    for label in ("Abstract", "PDF", "Code", "Hugging Face"):
        assert f">{label}</a>" in html and f"{label}: http" in text
    assert "A strong baseline." in html and "A strong baseline." in text
    assert "<strong>zero-shot</strong> in title and abstract" in html
    assert "<em>Zero-shot</em>" in html
    assert "matched: `zero-shot` in title and abstract (Zero-shot)" in text
    assert "It works well. " * 30 not in text.replace("\n   ", " ")  # trimmed


def test_featured_papers_come_first_under_their_own_heading(subscription):
    add_paper(subscription, title="Ordinary", score=9)
    add_paper(subscription, title="Editors like this", featured=True)
    html = html_of(render_digest_email(build_digest(subscription.owner, now=NOW)))
    body = html[html.index("2 new papers") :]  # after the preheader, which names papers too
    assert body.index("Featured") < body.index("Editors like this") < body.index("Ordinary")
    assert "Matching your subscriptions" in html


def test_papers_over_the_cap_become_n_more_on_the_web(subscription):
    subscription.owner.papers_per_digest = 3
    subscription.owner.save()
    titles = [f"Paper number {n}" for n in range(5)]
    for n, title in enumerate(titles):
        add_paper(subscription, title=title, score=10 - n)
    message = render_digest_email(build_digest(subscription.owner, now=NOW))
    assert "5 new papers" in message.subject
    assert "2 more on the web" in html_of(message) and "2 more on the web" in message.body
    assert "Paper number 2" in message.body and "Paper number 3" not in message.body


def test_footer_and_headers_offer_unsubscribe_and_manage_links(subscription, settings):
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@paperboy.example"
    add_paper(subscription)
    message = parsed(render_digest_email(build_digest(subscription.owner, now=NOW)))
    https, mailto = [part.strip(" <>") for part in message["List-Unsubscribe"].split(",")]
    assert https.startswith("http://localhost:8000/unsubscribe/") and https.endswith("/")
    assert mailto.startswith("mailto:unsubscribe@paperboy.example?subject=unsubscribe%20")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == settings.LIST_ID
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert f'href="{https}"' in html and f"Unsubscribe: {https}" in text
    assert "Manage subscriptions" in html and "Manage subscriptions: http" in text


def test_mailto_unsubscribe_is_offered_only_when_configured(subscription, settings):
    settings.UNSUBSCRIBE_MAILTO = ""
    add_paper(subscription)
    message = render_digest_email(build_digest(subscription.owner, now=NOW))
    assert "mailto:" not in message.extra_headers["List-Unsubscribe"]


def test_hostile_paper_fields_render_as_text(subscription):
    add_paper(
        subscription,
        terms=[("onerror", "abstract")],
        title=HOSTILE,
        abstract=HOSTILE,
        authors=[HOSTILE],
        categories=[HOSTILE],
        curator_note=HOSTILE,
        code_url="javascript:alert(3)",
    )
    subscription.name = HOSTILE
    subscription.save()
    message = render_digest_email(build_digest(subscription.owner, now=NOW))
    html = html_of(message)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html
    assert HOSTILE in message.body  # plain text is not HTML: shown as is


def test_empty_digest_says_nothing_new(subscription):
    subscription.owner.skip_empty = False
    subscription.owner.save()
    message = render_digest_email(build_digest(subscription.owner, now=NOW))
    assert message.subject == "Nothing new for you — Tue 24 Nov"
    assert "No new papers matched" in html_of(message) and "No new papers matched" in message.body


def test_message_id_is_the_deliverys_and_stable_across_renders(subscription):
    add_paper(subscription)
    digest = build_digest(subscription.owner, now=NOW)
    first, second = render_digest_email(digest), render_digest_email(digest)
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert first.extra_headers["Message-ID"].startswith(f"<digest.{digest.delivery.pk}.")


def test_mjml_is_compiled_once_for_many_digests(db):
    composer.compiled_html.cache_clear()
    for _ in range(3):
        subscription = SubscriptionFactory(owner=UserFactory())
        add_paper(subscription)
        render_digest_email(build_digest(subscription.owner, now=NOW))
    assert composer.compiled_html.cache_info().misses == 1


def test_each_paper_has_signed_feedback_links(subscription):
    from digest.digests.links import feedback_from_token

    paper = add_paper(subscription)
    message = render_digest_email(build_digest(subscription.owner, now=NOW))
    html = html_of(message)
    for kind, label in (("more", "More like this"), ("less", "Not relevant")):
        line = next(ln for ln in message.body.splitlines() if ln.strip().startswith(label))
        url = line.split(": ", 1)[1]
        assert f'href="{url}"' in html
        token = url.rstrip("/").rsplit("/", 1)[1]
        assert feedback_from_token(token) == (subscription.owner.pk, paper.pk, kind)


def test_a_paper_that_looks_like_a_template_renders_as_text(subscription):
    title = "Tricky {{ unsubscribe_url }} {% include 'emails/layout.mjml' %} <b>title</b>"
    add_paper(subscription, title=title, abstract="We study zero-shot {{ SITE_NAME }} things.")
    message = render_digest_email(build_digest(subscription.owner, now=NOW))
    html = html_of(message)
    assert "Tricky {{ unsubscribe_url }} {% include &#x27;emails/layout.mjml&#x27; %}" in html
    assert "&lt;b&gt;title&lt;/b&gt;" in html and "<b>title</b>" not in html
    assert "<mark>zero-shot</mark> {{ SITE_NAME }} things." in html
    assert title in message.body


def test_a_featured_paper_nothing_matched_says_the_curators_featured_it(db):
    digest = DigestFactory(papers_total=1)
    DigestItemFactory(
        digest=digest,
        paper=PaperFactory(title="Editors like this", featured=True),
        section=DigestItem.Section.FEATURED,
        hits=[],
    )
    message = render_digest_email(digest)
    assert "Featured by the curators" in html_of(message)
    assert "   featured by the curators\n" in message.body


def test_a_curators_edit_shows_in_the_next_email(subscription):
    paper = add_paper(subscription, curator_note="First note")
    digest = build_digest(subscription.owner, now=NOW)
    assert "First note" in render_digest_email(digest).body
    paper.curator_note = "Second thoughts"
    paper.save()
    assert "Second thoughts" in render_digest_email(digest).body


def test_plain_text_is_wrapped_for_reading_in_a_terminal(subscription):
    other = SubscriptionFactory(owner=subscription.owner, name="A rather long subscription name")
    paper = add_paper(subscription, abstract="Zero-shot words. " * 40, title="Short title")
    Match.objects.create(
        subscription=other,
        paper=paper,
        owner=subscription.owner,
        hits=[{"term": "words", "field": "abstract"}, {"term": "zero-shot", "field": "title"}],
        score=1,
    )
    body = render_digest_email(build_digest(subscription.owner, now=NOW)).body
    assert "A rather long subscription name" in body
    assert all(len(line) <= 78 for line in body.splitlines() if "http" not in line)


def test_plain_text_breaks_lines_between_words_only():
    text = "we ensemble it with the original zero-shot model " * 3
    url = "https://example.org/" + "a-very-long-path" * 6
    lines = wrap(f"{text} see {url} for code").split("\n")
    assert all(line.startswith("   ") for line in lines)
    assert all(len(line) <= TEXT_WIDTH for line in lines if url not in line)
    assert f"   {url} for code" in lines or f"   {url}" in lines  # a URL is never cut
    assert not any(line.endswith("-") for line in lines)  # nor is a hyphenated term
    assert " ".join(" ".join(lines).split()) == " ".join(f"{text} see {url} for code".split())


@given(st.lists(st.sampled_from(["a", "zero-shot", "word", "x" * 80, "é" * 5, "\n", "  "])))
def test_plain_text_wraps_as_textwrap_would_without_breaking_words(pieces):
    text = " ".join(pieces)
    assert wrap(text) == textwrap.fill(
        " ".join(text.split()),  # runs of whitespace are one space
        TEXT_WIDTH,
        initial_indent="   ",
        subsequent_indent="   ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def test_a_capped_digest_says_how_many_of_how_many_in_subject_and_body(subscription):
    subscription.owner.papers_per_digest = 3
    subscription.owner.save()
    for n in range(5):
        add_paper(subscription, title=f"Paper number {n}", score=10 - n)
    digest = build_digest(subscription.owner, now=NOW)
    message = render_digest_email(digest)
    view_url = links.digest_view_url(digest)
    assert view_url
    assert message.subject == "3 of 5 new papers for you — Tue 24 Nov"
    assert message.body.startswith("3 of 5 new papers for you — Tue 24 Nov\n")
    assert f"The best 3 are below; all 5 on the web: {view_url}" in message.body
    html = html_of(message)
    assert "3 of 5 new papers for you" in html
    assert f'<a href="{view_url}">see all 5 on the web</a>' in html


def test_an_uncapped_digest_counts_plainly(subscription):
    for _ in range(3):
        add_paper(subscription)
    message = render_digest_email(build_digest(subscription.owner, now=NOW))
    assert message.subject == "3 new papers for you — Tue 24 Nov"
    assert "are below" not in message.body


def test_the_largest_digest_stays_under_gmails_clip_size_with_its_unsubscribe_link(subscription):
    # Gmail clips an HTML part over ~102 KB, and the clipped part is the footer with the manage
    # and unsubscribe links. At the most papers a reader may ask for, with the longest real
    # abstracts and authors lists, the email must still end inside the limit.
    rows = sorted(real_rows(), key=lambda row: len(row["abstract"]), reverse=True)
    subscription.owner.papers_per_digest = 100
    subscription.owner.save()
    for row in rows[:100]:
        add_paper(
            subscription,
            terms=(("zero-shot", "abstract"), ("learning", "title")),
            title=row["title"],
            abstract=row["abstract"],
            authors=[f"Author Number{n} Longname" for n in range(40)],
            categories=["cs.CV", "cs.LG", "cs.AI"],
            abs_url="https://arxiv.org/abs/2601.00001",
            pdf_url="https://arxiv.org/pdf/2601.00001",
            code_url="https://github.com/example/a-rather-long-repository-name",
        )
    message = render_digest_email(build_digest(subscription.owner, now=NOW))
    html = html_of(message)
    assert len(html.encode()) <= 102 * 1024
    assert links.unsubscribe_url(subscription.owner) in html
    assert "Manage subscriptions" in html
    shown = html.count("More like this")
    assert shown >= 25  # the later papers lose their abstracts before any paper is dropped
    assert f"{shown} of 100 new papers" in message.subject or shown == 100


def test_an_ordinary_digest_shows_every_abstract(subscription):
    papers = [add_paper(subscription, abstract=f"Abstract number {n}. " * 40) for n in range(25)]
    html = html_of(render_digest_email(build_digest(subscription.owner, now=NOW)))
    assert all(f"Abstract number {n}." in html for n in range(len(papers)))


def add_suggestions(digest, count: int, **paper_fields) -> list:
    """ "You might also like" items after ``digest``'s others, as compose writes them: close to
    a paper the reader liked (``tests/test_digests.py`` checks that they are)."""
    last = max(digest.items.values_list("rank", flat=True), default=0)
    return [
        DigestItemFactory(
            digest=digest,
            rank=last + n,
            section=DigestItem.Section.SUGGESTED,
            hits=[{"field": "liked", "term": "A paper you liked", "paper_id": 1, "similarity": 2}],
            paper=PaperFactory(**{"title": f"Suggested paper {n}", **paper_fields}),
        )
        for n in range(1, count + 1)
    ]


def test_suggestions_come_last_under_their_own_heading_and_are_not_counted(subscription):
    subscription.owner.papers_per_digest = 2
    subscription.owner.save()
    for n in range(3):
        add_paper(subscription, title=f"Matched paper {n}", score=10 - n)
    digest = build_digest(subscription.owner, now=NOW)
    add_suggestions(digest, 2)
    message = render_digest_email(digest)
    html, text = html_of(message), message.body
    assert message.subject == "2 of 3 new papers for you — Tue 24 Nov"
    assert "The best 2 are below; all 3 on the web" in text
    body = html[html.index("2 of 3 new papers") :]
    assert body.index("Matching your subscriptions") < body.index("Matched paper 1")
    assert body.index("Matched paper 1") < body.index("You might also like")
    assert body.index("You might also like") < body.index("Suggested paper 1")
    assert "not counted above" in html
    assert "== You might also like ==\nNot from your subscriptions and not counted above" in text
    # Numbered as what matched is numbered; the suggestions are listed, each with its reason.
    assert "\n2. Matched paper 1\n" in text and "\n- Suggested paper 1\n" in text
    assert text.count("close to *A paper you liked*, which you liked") == 2
    assert "Close to <em>A paper you liked</em>, which you liked" in html
    assert html.count("More like this") == 4  # feedback links under every paper


def test_a_quiet_day_with_suggestions_says_nothing_matched(subscription):
    subscription.owner.skip_empty = False
    subscription.owner.save()
    digest = build_digest(subscription.owner, now=NOW)
    add_suggestions(digest, 1)
    message = render_digest_email(digest)
    assert message.subject == "Nothing new for you — Tue 24 Nov"
    assert "No new papers matched" in message.body and "== You might also like ==" in message.body


@pytest.mark.parametrize("papers", [48, 100])
def test_a_long_digest_with_suggestions_stays_under_gmails_clip_size(subscription, papers):
    # Past the clip size the later papers lose their abstracts, suggestions included; when
    # papers must be cut, the suggestions go first, and the counts name only matched papers.
    rows = sorted(real_rows(), key=lambda row: len(row["abstract"]), reverse=True)
    subscription.owner.papers_per_digest = 100
    subscription.owner.save()
    for row in rows[:papers]:
        add_paper(
            subscription,
            terms=(("zero-shot", "abstract"), ("learning", "title")),
            title=row["title"],
            abstract=row["abstract"],
            authors=[f"Author Number{n} Longname" for n in range(40)],
            abs_url="https://arxiv.org/abs/2601.00001",
            code_url="https://github.com/example/a-rather-long-repository-name",
        )
    digest = build_digest(subscription.owner, now=NOW)
    add_suggestions(digest, 3, abstract="A suggestion's own abstract.")
    message = render_digest_email(digest)
    html = html_of(message)
    assert len(html.encode()) <= 102 * 1024
    assert links.unsubscribe_url(subscription.owner) in html
    if papers == 48:
        assert message.subject == "48 new papers for you — Tue 24 Nov"
        assert html.index("You might also like") < html.index("Suggested paper 3")
        assert "A suggestion's own abstract." not in html
        assert html.count("More like this") == 48 + 3
    else:
        shown = html.count("More like this")
        assert "You might also like" not in html and "Suggested paper" not in message.body
        assert message.subject == f"{shown} of 100 new papers for you — Tue 24 Nov"
