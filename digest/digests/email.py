"""The digest email: from a Digest and its items to a ready message, through the one composer.

``render_digest_email`` is used for sending and for previews, so what a curator previews is what
subscribers get. Everything per-paper that the templates show is prepared here, in plain Python:
the templates only lay it out.

Per recipient, rendering is string joins: the partials (``_digest-paper``, ``_digest-item``,
``_digest-section``) are rendered once per process as fragments with holes (``mail.fragment``),
each paper once per version, its highlighted abstract once per set of matched terms and the
reasons once per set of hits; only the two signed feedback links are made per recipient and
paper. The email around the papers is then one template render, as for every other email.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context
from django.template.base import Template
from django.utils.crypto import salted_hmac
from django.utils.safestring import SafeString, mark_safe

from digest import mail as composer
from digest.digests import links
from digest.digests.abstracts import short_authors, trim_at_sentence
from digest.digests.models import Delivery, Digest, DigestItem
from digest.papers.models import Paper
from subscriptions.matcher import highlight  # the matcher marks exactly what it matched

FIELD_NAMES = {
    "title": "title",
    "abstract": "abstract",
    "author": "authors",
    "category": "category",
}
TEXT_WIDTH = 72


class EmailItem(Protocol):
    """What the email reads of a digest's item: a ``DigestItem`` (previews, the admin) or the
    lighter row the sender loads (``delivery.ShownItem``)."""

    paper: Paper
    rank: int
    section: str
    hits: list[dict]
    in_email: bool


def date_label(date: dt.date) -> str:
    """``Tue 24 Nov``."""
    return f"{date:%a} {date.day} {date:%b}"


def headline(count: int) -> str:
    if count == 0:
        return "Nothing new for you"
    return f"{count} new paper{'s' if count != 1 else ''} for you"


def safe_url(url: str) -> str:
    """Only http(s) links reach an email; a feed cannot smuggle ``javascript:`` into one."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


def paper_links(paper: Paper) -> list[tuple[str, str]]:
    candidates = [
        ("Abstract", paper.abs_url),
        ("PDF", paper.pdf_url),
        ("Code", paper.code_url),
        ("Hugging Face", paper.hf_url),
    ]
    return [(label, safe_url(url)) for label, url in candidates if safe_url(url)]


def _reasons(hits: Sequence[dict]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(subscription, [(term, "title and abstract"), ...]), ...]``, in order of appearance."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for hit in hits:
        terms = grouped.setdefault(str(hit.get("subscription") or ""), {})
        term, field = str(hit.get("term") or ""), str(hit.get("field") or "")
        if not term:
            continue
        fields = terms.setdefault(term, [])
        name = FIELD_NAMES.get(field, field)
        if name and name not in fields:
            fields.append(name)
    return [
        (subscription, [(term, " and ".join(fields)) for term, fields in terms.items()])
        for subscription, terms in grouped.items()
    ]


def reasons_text(hits: Sequence[dict], featured: bool) -> str:
    """``matched zero-shot in title and abstract, CLIP in abstract (Vision)``."""
    parts = []
    for subscription, terms in _reasons(hits):
        matched = ", ".join(f"{term} in {where}" if where else term for term, where in terms)
        text = f"matched {matched}" if matched else "matched"
        parts.append(f"{text} ({subscription})" if subscription else text)
    if not parts and featured:
        return "picked by the editors"
    return "; ".join(parts)


def reasons_html(hits: Sequence[dict], featured: bool) -> SafeString:
    """``matched <strong>zero-shot</strong> in title · <em>Vision</em>``, every piece escaped.
    (Plain ``html.escape`` rather than ``format_html``: this runs for every paper of every
    email, and the lazy-string machinery costs more than the escaping.)"""
    parts = []
    for subscription, terms in _reasons(hits):
        matched = ", ".join(
            f"<strong>{_esc(term)}</strong> in {_esc(where)}"
            if where
            else f"<strong>{_esc(term)}</strong>"
            for term, where in terms
        )
        text = f"matched {matched}" if terms else "matched"
        parts.append(f"{text} · <em>{_esc(subscription)}</em>" if subscription else text)
    if not parts and featured:
        return mark_safe("picked by the editors")
    return mark_safe("; ".join(parts))  # noqa: S308 - every piece escaped above


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)


def wrap(text: str, indent: str = "   ") -> str:
    """``text`` in lines of at most ``TEXT_WIDTH`` characters, each starting with ``indent``,
    broken only between words: a hyphenated term stays whole where people search for it, and a
    word longer than a line (a URL) gets a line of its own rather than being cut in two. (Also
    several times cheaper than ``textwrap``, and every paper's abstract goes through here.)"""
    lines: list[str] = []
    line: list[str] = []
    length = len(indent)
    for word in text.split():
        if line and length + 1 + len(word) > TEXT_WIDTH:
            lines.append(indent + " ".join(line))
            line, length = [], len(indent)
        length += len(word) + (1 if line else 0)
        line.append(word)
    if line:
        lines.append(indent + " ".join(line))
    return "\n".join(lines)


# Per process, bounded whatever the number of subscribers: rendered papers (about a day's
# worth), highlighted abstracts (papers × the terms they matched, a few KB each) and reasons.
CACHE_SIZE = 16384


def _remember(cache: OrderedDict, key: tuple, value):
    cache[key] = value
    if len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return value


def _cached(cache: OrderedDict, key: tuple):
    value = cache.get(key)
    if value is not None:
        cache.move_to_end(key)
    return value


def _paper_static(paper: Paper) -> dict[str, object]:
    """What the email shows of a paper whoever gets it (trimmed, wrapped, linked)."""
    abstract = trim_at_sentence(paper.abstract)
    links_ = paper_links(paper)
    return {
        "title": " ".join(paper.title.split()),
        "url": safe_url(paper.abs_url) or safe_url(paper.hf_url) or safe_url(paper.pdf_url),
        "authors": short_authors(paper.authors or []),
        "categories": ", ".join(str(c) for c in (paper.categories or [])),
        "abstract": abstract,
        "abstract_wrapped": wrap(abstract),
        "links": links_,
        "links_text": "\n".join(f"   {label}: {url}" for label, url in links_),
        "curator_note": paper.curator_note.strip(),
        "curator_note_wrapped": wrap(" ".join(paper.curator_note.split()), "   > "),
        "upvotes": paper.upvotes,
    }


@dataclass(frozen=True)
class PaperParts:
    """A paper as every digest shows it: the HTML with a hole for the highlighted abstract (the
    only part that depends on what matched), and the plain text."""

    title: str
    abstract: str
    html: composer.Fragment
    text: str


_PAPERS: OrderedDict[tuple, PaperParts] = OrderedDict()


def paper_parts(paper: Paper) -> PaperParts:
    """Rendered once per paper version and process (the key includes ``modified_at``, so a
    curator's edit shows in the next email)."""
    key = (paper.pk, paper.modified_at)
    if paper.pk is not None and (cached := _cached(_PAPERS, key)) is not None:
        return cached
    static = _paper_static(paper)
    parts = PaperParts(
        title=str(static["title"]),
        abstract=str(static["abstract"]),
        html=composer.fragment(
            "emails/_digest-paper.html",
            {"paper": {**static, "abstract_html": composer.hole("abstract_html")}},
        ),
        text=_partial("emails/_digest-paper.txt").render(
            Context({"paper": static}, autoescape=False)
        ),
    )
    return _remember(_PAPERS, key, parts) if paper.pk is not None else parts


_ABSTRACTS: OrderedDict[tuple, str] = OrderedDict()


def abstract_html(paper: Paper, parts: PaperParts, hits: Sequence[dict]) -> str:
    """The abstract with what matched marked, once per paper and set of matched terms: many
    people follow the same topics."""
    term_hits = [h for h in hits if h.get("term")]
    key = (
        paper.pk,
        paper.modified_at,
        frozenset((str(h.get("term")), str(h.get("field", ""))) for h in term_hits),
    )
    if paper.pk is not None and (cached := _cached(_ABSTRACTS, key)) is not None:
        return cached
    marked = highlight(parts.abstract, term_hits)
    return _remember(_ABSTRACTS, key, marked) if paper.pk is not None else marked


_REASONS: OrderedDict[tuple, tuple[str, str]] = OrderedDict()


def reasons(hits: Sequence[dict], featured: bool) -> tuple[str, str]:
    """Why a paper is in the email, as HTML and as the wrapped ``Why:`` line of the text (both
    empty when there is nothing to say), once per distinct set of reasons."""
    key = (
        featured,
        tuple(
            (str(h.get("term") or ""), str(h.get("field") or ""), str(h.get("subscription") or ""))
            for h in hits
        ),
    )
    if (cached := _cached(_REASONS, key)) is not None:
        return cached
    text = reasons_text(hits, featured)
    return _remember(
        _REASONS, key, (reasons_html(hits, featured), wrap(f"Why: {text}") if text else "")
    )


@functools.cache
def _partial(name: str) -> Template:
    return composer._engine().get_template(name)


@functools.cache
def _item_html(with_reasons: bool) -> composer.Fragment:
    hole = composer.hole
    item = {"paper_html": hole("paper_html"), "more_url": hole("more"), "less_url": hole("less")}
    item["reasons_html"] = hole("reasons") if with_reasons else ""
    return composer.fragment("emails/_digest-item.html", {"item": item})


@functools.cache
def _item_text(with_reasons: bool) -> composer.Fragment:
    hole = composer.hole
    item = {"rank": hole("rank"), "paper_text": hole("paper_text")}
    item |= {"more_url": hole("more"), "less_url": hole("less")}
    item["reasons_wrapped"] = hole("reasons") if with_reasons else ""
    return composer.fragment("emails/_digest-item.txt", {"item": item})


@functools.cache
def _section_heading(template_name: str, title: str) -> str:
    return composer.fragment(template_name, {"section": {"title": title}}).fill({})


@dataclass(frozen=True)
class Papers:
    """The papers part of a digest email, for its HTML and its plain text."""

    html: SafeString
    text: str
    titles: list[str]
    sections: int


def render_papers(user, items: Sequence[EmailItem]) -> Papers:
    """The email's papers, featured first, each filled into the partials rendered once per
    process: per recipient this is string joins, cached highlights and two signed links."""
    # The feedback URL with a slot for the token, once per email (``links.feedback_url``
    # builds the same URL, one at a time).
    feedback = links.token_url("feedback", links.TOKEN_SLOT)
    # Escaped once too: a token is URL-safe base64, digits, "-" and ".", nothing HTML escapes.
    feedback_html = _esc(feedback)
    slot, token = links.TOKEN_SLOT, links.feedback_token
    user_id = user.pk
    featured = [i for i in items if i.section == DigestItem.Section.FEATURED]
    matched = [i for i in items if i.section != DigestItem.Section.FEATURED]
    sections = [("Featured", featured)] if featured else []
    if matched:
        sections.append(("Matching your subscriptions" if featured else "", matched))
    html_out: list[str] = []
    text_out: list[str] = []
    titles: list[str] = []
    for title, section_items in sections:
        html_out.append(_section_heading("emails/_digest-section.html", title))
        text_out.append(_section_heading("emails/_digest-section.txt", title))
        for item in section_items:
            paper = item.paper
            parts = paper_parts(paper)
            hits = item.hits or []
            why_html, why_text = reasons(hits, item.section == DigestItem.Section.FEATURED)
            # Signed per user and paper: a click records feedback without logging in.
            more_token = token(user_id, paper.id, "more")
            less_token = token(user_id, paper.id, "less")
            html_out.append(
                _item_html(bool(why_html)).fill(
                    {
                        "paper_html": parts.html.fill(
                            {"abstract_html": abstract_html(paper, parts, hits)}
                        ),
                        "reasons": why_html,
                        "more": feedback_html.replace(slot, more_token),
                        "less": feedback_html.replace(slot, less_token),
                    }
                )
            )
            text_out.append(
                _item_text(bool(why_text)).fill(
                    {
                        "rank": str(item.rank),
                        "paper_text": parts.text,
                        "reasons": why_text,
                        "more": feedback.replace(slot, more_token),
                        "less": feedback.replace(slot, less_token),
                    }
                )
            )
            titles.append(parts.title)
    return Papers(
        html=mark_safe("".join(html_out)),  # noqa: S308 - autoescaped partials, escaped fills
        text="".join(text_out),
        titles=titles,
        sections=len(sections),
    )


def email_context(
    digest: Digest, items: Iterable[EmailItem], *, unsubscribe_url: str | None = None
) -> dict[str, object]:
    items = list(items)
    shown = [item for item in items if item.in_email]
    papers = render_papers(digest.user, shown)
    total = digest.papers_total if digest.papers_total else len(items)
    view_url = links.digest_view_url(digest)
    return {
        "digest": digest,
        "date_label": date_label(digest.date),
        "headline": headline(total),
        "count": total,
        "sections": papers.sections,
        "papers_html": papers.html,
        "papers_text": papers.text,
        "more_count": max(total - len(shown), 0),
        "more_url": view_url or links.manage_url(),
        "view_url": view_url,
        "manage_url": links.manage_url(),
        "unsubscribe_url": unsubscribe_url or links.unsubscribe_url(digest.user),
        "preheader": " · ".join(papers.titles[:2]) or "No new papers matched your subscriptions.",
        "footer_reason": "You receive this digest because you follow papers on",
    }


def message_id_for(delivery: Delivery) -> str:
    """The Message-ID of a delivery: the same on every attempt, so a resend after a crash is
    recognisable as the same message (at the sink, in the recipient's client, in the admin)."""
    if delivery.message_id:
        return delivery.message_id
    tag = salted_hmac("paperboy.message-id", str(delivery.pk)).hexdigest()[:12]
    return f"<digest.{delivery.pk}.{tag}@{composer.message_id_domain()}>"


def list_headers(user, *, unsubscribe_url: str | None = None) -> dict[str, str]:
    targets = [unsubscribe_url or links.unsubscribe_url(user), links.unsubscribe_mailto(user)]
    return {
        "List-Id": settings.LIST_ID,
        "List-Unsubscribe": ", ".join(f"<{target}>" for target in targets if target),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "bulk",
    }


def render_digest_email(
    digest: Digest,
    *,
    connection=None,
    items: Iterable[EmailItem] | None = None,
    delivery: Delivery | None = None,
) -> EmailMultiAlternatives:
    """The digest as a message ready to send. ``items`` defaults to the stored ones; pass the
    unsaved items of a plan to preview. The Message-ID is the delivery's when there is one."""
    if items is None:
        items = digest.items.select_related("paper").order_by("rank")
    # Signed once: the List-Unsubscribe header and the footer link are the same URL.
    unsubscribe_url = links.unsubscribe_url(digest.user)
    headers = list_headers(digest.user, unsubscribe_url=unsubscribe_url)
    if delivery is None and digest.pk is not None:
        delivery = Delivery.objects.filter(digest=digest).first()
    if delivery is not None:
        headers["Message-ID"] = message_id_for(delivery)
    return composer.compose(
        "digest",
        to=delivery.to_email if delivery is not None else digest.user.email,
        context=email_context(digest, items, unsubscribe_url=unsubscribe_url),
        headers=headers,
        connection=connection,
    )
