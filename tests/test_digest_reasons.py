"""Why each paper is in a digest: every reason the email and the web page show is true of the
paper, the subscription and the reader, and hostile text in them stays text."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest

from digest.digests.archive import digest_page_context
from digest.digests.compose import build_digest
from digest.digests.email import render_digest_email, wrap
from digest.digests.links import digest_view_url
from digest.papers.models import Paper
from subscriptions import semantic
from subscriptions.embeddings import embed_new_papers, from_bytes, stack
from subscriptions.hybrid import CLOSE_IN_MEANING_Z
from subscriptions.models import Feedback, Match, Subscription
from tests.factories import PaperFactory, SubscriptionFactory, UserFactory
from tests.mailhelpers import path_of
from tests.realpapers import real_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]

NOW = dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)
HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(2)>'


def listing(page: str) -> list[dict]:
    """The recorded Hugging Face listing ``page`` (``001``: a search for CLIP, ``004``: for
    "deep"), distinct papers in order."""
    return [row for row in real_rows() if row["page"].startswith(page)]


def recorded(row: dict, *, hours_ago: float, **fields) -> Paper:
    fields = {"title": row["title"], "abstract": row["abstract"], **fields}
    return PaperFactory(created_at=NOW - dt.timedelta(hours=hours_ago), **fields)


def matched(subscription, paper, *, terms=(), score=0.0, similarity=None) -> Match:
    """A Match as the match step writes it: boolean hits and score, and z for a subscription
    with an interest (a paper matched by meaning only has no hits and score 0)."""
    return Match.objects.create(
        subscription=subscription,
        paper=paper,
        owner=subscription.owner,
        hits=[{"term": term, "field": field} for term, field in terms],
        score=score,
        similarity=similarity,
    )


@pytest.fixture
def digest():
    """A reader who liked CLIP papers and judged "deep" ones not relevant, with a keyword
    subscription and one by meaning; today's digest has keyword matches (one featured, one
    upvoted), a paper close in meaning, one only loosely close, and suggestions."""
    clip, deep = listing("001"), listing("004")
    reader = UserFactory(papers_per_digest=25)
    for row in (clip[0], clip[1], clip[4]):
        liked = recorded(row, hours_ago=24 * 30)
        Feedback.objects.create(user=reader, paper=liked, kind=Feedback.Kind.MORE)
    for row in deep[:3]:
        disliked = recorded(row, hours_ago=24 * 30)
        Feedback.objects.create(user=reader, paper=disliked, kind=Feedback.Kind.LESS)
    words = SubscriptionFactory(owner=reader, name="Words", query="CLIP")
    meaning = SubscriptionFactory(
        owner=reader, name="Meaning", query="", interest="contrastive image-text pretraining"
    )
    matched(
        words,
        recorded(clip[8], hours_ago=3, upvotes=7),
        terms=[("CLIP", "title"), ("CLIP", "abstract")],
        score=4.0,
    )
    matched(
        words,
        recorded(clip[10], hours_ago=3, featured=True),
        terms=[("CLIP", "abstract")],
        score=1.0,
    )
    matched(meaning, recorded(clip[11], hours_ago=3), similarity=2.2)
    matched(meaning, recorded(deep[6], hours_ago=3), similarity=1.1)
    for index in (13, 21, 23, 24, 26):
        recorded(clip[index], hours_ago=3)  # matched by nothing
    embed_new_papers()
    return build_digest(reader, now=NOW)


def z_to(paper: Paper, liked: Paper) -> float:
    """How close ``paper`` is to ``liked`` in spreads above the typical paper of the reader's
    window (the papers first seen in the last week)."""
    window = Paper.objects.filter(
        hidden=False, embedding__isnull=False, created_at__gt=NOW - dt.timedelta(days=7)
    )
    background = semantic.Background.of(stack(window.values_list("embedding", flat=True)))
    paper_vector, liked_vector = from_bytes(paper.embedding), from_bytes(liked.embedding)
    means, sds = background.spread(liked_vector[None, :])
    return float((paper_vector @ liked_vector - means[0]) / sds[0])


def check(line: str, paper: Paper, reader) -> str:
    """Assert that one reason, as HTML, is true of ``paper`` for ``reader``; its kind."""
    if line == "Featured by the curators":
        assert paper.featured or paper.featured_everywhere
        return "featured"
    if line.startswith("Matched: "):
        for group in line.removeprefix("Matched: ").split("; "):
            name = unescape(re.search(r"<em>(.*?)</em>$", group)[1])
            subscription = Subscription.objects.get(owner=reader, name=name)
            assert Match.objects.filter(subscription=subscription, paper=paper).exists()
            if group.startswith("<em>"):  # only which subscription: no words, not close
                match = Match.objects.get(subscription=subscription, paper=paper)
                assert not match.hits and not (match.similarity or 0) >= CLOSE_IN_MEANING_Z
                continue
            terms = re.findall(
                r"<strong>(.*?)</strong> in ((?:title|abstract)(?: and \w+)?)", group
            )
            assert terms
            for term, fields in terms:
                for field in fields.split(" and "):
                    assert unescape(term).lower() in getattr(paper, field).lower(), (term, field)
        return "matched"
    if found := re.fullmatch(r"Close in meaning to your interest “(.*)” · <em>(.*)</em>", line):
        subscription = Subscription.objects.get(owner=reader, name=unescape(found[2]))
        assert subscription.interest == unescape(found[1])
        match = Match.objects.get(subscription=subscription, paper=paper)
        assert match.similarity >= CLOSE_IN_MEANING_Z
        return "meaning"
    if found := re.fullmatch(r"Close to <em>(.*)</em>, which you liked", line):
        [liked] = Paper.objects.filter(title=unescape(found[1]))
        assert Feedback.objects.filter(user=reader, paper=liked, kind="more").exists()
        assert z_to(paper, liked) >= CLOSE_IN_MEANING_Z
        return "liked"
    if found := re.fullmatch(r"(\d+) upvotes?", line):
        assert paper.upvotes == int(found[1])
        return "upvotes"
    raise AssertionError(f"a reason nobody checks: {line!r}")


def as_text(line: str) -> str:
    """A reason's HTML as the plain-text email words it."""
    line = line[:1].lower() + line[1:]
    line = re.sub(r" · <em>(.*?)</em>(?=;|$)", r" (\1)", line)
    line = re.sub(r"(^matched: |; )<em>(.*?)</em>(?=;|$)", r"\1(\2)", line)
    line = re.sub(r"<strong>(.*?)</strong>", r"`\1`", line)
    line = re.sub(r"<em>(.*?)</em>", r"*\1*", line)
    return unescape(line)


def email_reasons(html: str) -> dict[str, list[str]]:
    """Each paper's title and its reason lines, as the HTML email shows them."""
    found = {}
    for block in html.split('<div style="border-top:1px solid #e5e7eb;')[1:]:
        title = re.search(
            r'<div style="font-size:17px[^"]*">(?:<a [^>]*>)?(.*?)(?:</a>)?</div>', block
        )
        why = re.search(
            r'<div style="font-size:12px;line-height:1.5;color:#616e7c">(.*?)</div>', block
        )
        found[unescape(title[1])] = why[1].split("<br>") if why else []
    return found


def web_reasons(html: str) -> dict[str, list[str]]:
    found = {}
    for block in html.split('<li class="paper">')[1:]:
        title = re.search(r"<h3><a [^>]*>(.*?)</a></h3>", block)
        why = re.search(r'<ul class="small muted reasons">(.*?)</ul>', block)
        found[unescape(title[1])] = re.findall(r"<li>(.*?)</li>", why[1]) if why else []
    return found


def test_every_reason_shown_is_true_in_the_email_and_on_the_web_page(client, digest):
    reader = digest.user
    message = render_digest_email(digest)
    shown = email_reasons(message.alternatives[0][0])
    papers = {paper.title: paper for paper in Paper.objects.filter(digest_items__digest=digest)}
    assert set(shown) == set(papers)
    kinds = {
        title: [check(line, papers[title], reader) for line in lines]
        for title, lines in shown.items()
    }
    clip, deep = listing("001"), listing("004")
    assert kinds[clip[8]["title"]][:1] == ["matched"] and "upvotes" in kinds[clip[8]["title"]]
    assert kinds[clip[10]["title"]][:2] == ["featured", "matched"]
    assert "meaning" in kinds[clip[11]["title"]]
    # z = 1.1 matched at a loose strictness, but is not "close": it says only where it came from.
    assert shown[deep[6]["title"]] == ["Matched: <em>Meaning</em>"]
    suggestions = [
        title
        for title in kinds
        if title not in {r["title"] for r in (clip[8], clip[10], clip[11], deep[6])}
    ]
    assert suggestions and all(kinds[title] == ["liked"] for title in suggestions)
    # The plain text says the same, line for line.
    for lines in shown.values():
        for line in lines:
            assert wrap(as_text(line)) in message.body
    # The web page, now and later, reads the same stored reasons.
    page = client.get(path_of(digest_view_url(digest))).content.decode()
    assert web_reasons(page) == shown


def test_hostile_interest_and_liked_title_stay_text_in_the_email_and_the_web_page(client):
    clip = listing("001")
    reader = UserFactory()
    liked = recorded(
        clip[0], hours_ago=24 * 30, title=f"{HOSTILE}\nUnsubscribe: http://evil.example/"
    )
    Feedback.objects.create(user=reader, paper=liked, kind=Feedback.Kind.MORE)
    Feedback.objects.create(
        user=reader, paper=recorded(listing("004")[0], hours_ago=24 * 30), kind="less"
    )
    hostile = SubscriptionFactory(
        owner=reader,
        name=HOSTILE,
        query="",
        interest=f"{HOSTILE}\r\nUnsubscribe: http://evil.example/",
    )
    # The liked paper's own text, seen again today: as close to it as a paper can be.
    matched(hostile, recorded(clip[0], hours_ago=3, title="Seen again"), similarity=3.0)
    embed_new_papers()
    digest = build_digest(reader, now=NOW)
    [item] = digest.items.all()
    assert {hit["field"] for hit in item.hits} == {"meaning", "liked"}
    message = render_digest_email(digest)
    page = client.get(path_of(digest_view_url(digest))).content.decode()
    for html in (message.alternatives[0][0], page):
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = message.body
    # Text stays inside its indented paragraph: no line of its own that could pass for ours.
    assert not any(line.startswith("Unsubscribe: http://evil") for line in text.splitlines())
    assert "close in meaning to your interest “<script>alert(1)</script>" in " ".join(text.split())
    assert "which you liked" in text


def test_the_web_page_lists_suggestions_under_their_own_heading_apart_from_the_count(digest):
    context = digest_page_context(digest)
    assert context["suggested"]
    assert all(item.section == "suggested" for item in context["suggested"])
    assert not {i.pk for i in context["suggested"]} & {
        i.pk for i in context["matched"] + context["featured"] + context["overflow"]
    }
    assert digest.papers_total == len(context["matched"]) + len(context["featured"])


def test_a_boolean_only_subscription_never_says_close_in_meaning():
    """Its matches carry the z of its query's words (the match step's, to rank them), but it
    has no interest of the reader's to be close to: the reason is the words that matched."""
    reader = UserFactory()
    words = SubscriptionFactory(owner=reader, name="Words", query="CLIP")
    paper = PaperFactory(title="CLIP for everything", created_at=NOW - dt.timedelta(hours=3))
    matched(words, paper, terms=[("CLIP", "title")], score=2.0, similarity=4.0)
    digest = build_digest(reader, now=NOW)
    text = render_digest_email(digest).body
    assert "matched: `CLIP` in title" in text
    assert "close in meaning" not in text
