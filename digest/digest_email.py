"""The digest email: from a Digest and its items to a ready message, through the one composer.

``render_digest_email`` is used for sending and for previews, so what a curator previews is what
subscribers get. Everything per-paper that the templates show is prepared here, in plain Python:
the templates only lay it out.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import textwrap
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context
from django.template.base import Template
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.safestring import SafeString, mark_safe

from digest import links
from digest import mail as composer
from digest.abstracts import short_authors, trim_at_sentence
from digest.models import Delivery, Digest, DigestItem, Paper
from subscriptions.matcher import highlight  # the matcher marks exactly what it matched

FIELD_NAMES = {
    "title": "title",
    "abstract": "abstract",
    "author": "authors",
    "category": "category",
}
TEXT_WIDTH = 72


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
    return textwrap.fill(text, TEXT_WIDTH, initial_indent=indent, subsequent_indent=indent)


@dataclass(frozen=True)
class PaperBlock:
    """One paper as the email shows it, the same for everyone it is sent to with these reasons."""

    title: str
    html: SafeString
    text: str


# Per process, bounded whatever the number of subscribers: rendered papers (about a day's
# worth) and papers × reasons (a few KB each, so at most a few tens of MB).
BLOCK_CACHE_SIZE = 8192


@dataclass(frozen=True)
class PaperShell:
    """A paper's block rendered once with slots where the per-reason parts go, so a new set of
    reasons costs a highlight and two string joins, not two template renders."""

    static: dict[str, object]
    html: tuple[str, str, str] | None  # before the abstract, between, after the reasons
    text: tuple[str, str] | None  # before the reasons, after


ABSTRACT_SLOT = "\x00abstract\x00"
REASONS_SLOT = "\x00reasons\x00"
_SHELLS: OrderedDict[tuple, PaperShell] = OrderedDict()


def _remember(cache: OrderedDict, key: tuple, value):
    cache[key] = value
    if len(cache) > BLOCK_CACHE_SIZE:
        cache.popitem(last=False)
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


def paper_shell(paper: Paper) -> PaperShell:
    """The paper's block with slots, once per paper version and process (the key includes
    ``modified_at``, so a curator's edit shows in the next email)."""
    key = (paper.pk, paper.modified_at)
    cached = _SHELLS.get(key) if paper.pk is not None else None
    if cached is not None:
        _SHELLS.move_to_end(key)
        return cached
    static = _paper_static(paper)
    slotted = {
        **static,
        "abstract_html": mark_safe(ABSTRACT_SLOT),
        "reasons": REASONS_SLOT,
        "reasons_wrapped": REASONS_SLOT,
        "reasons_html": mark_safe(REASONS_SLOT),
    }
    html = _partial("emails/_digest-paper.html").render(Context({"paper": slotted}))
    text = _partial("emails/_digest-paper.txt").render(
        Context({"paper": slotted}, autoescape=False)
    )
    before, _, rest = html.partition(ABSTRACT_SLOT)
    between, _, after = rest.partition(REASONS_SLOT)
    text_before, _, text_after = text.partition(REASONS_SLOT)
    # A slot marker inside the paper's own text (it cannot come from a feed, but still) makes
    # the split ambiguous: such a paper is rendered whole every time instead.
    clean_html = html.count(ABSTRACT_SLOT) == 1 and html.count(REASONS_SLOT) == 1
    shell = PaperShell(
        static=static,
        html=(before, between, after) if clean_html else None,
        text=(text_before, text_after) if text.count(REASONS_SLOT) == 1 else None,
    )
    return _remember(_SHELLS, key, shell) if paper.pk is not None else shell


_BLOCKS: OrderedDict[tuple, PaperBlock] = OrderedDict()


def paper_block(item: DigestItem) -> PaperBlock:
    """The paper as this email shows it: its shell with the highlighted abstract and the
    reasons it matched filled in — cached per paper and reasons, since many people follow the
    same topics."""
    paper = item.paper
    # What the block shows of the hits: term, field and subscription name (not its id, which
    # differs per person while the text does not).
    shown = tuple(
        (str(h.get("term", "")), str(h.get("field", "")), str(h.get("subscription", "")))
        for h in item.hits or []
    )
    key = (paper.pk, paper.modified_at, item.section, shown)
    block = _BLOCKS.get(key) if paper.pk is not None else None
    if block is not None:
        _BLOCKS.move_to_end(key)
        return block
    block = _fill_shell(item)
    return _remember(_BLOCKS, key, block) if paper.pk is not None else block


def _fill_shell(item: DigestItem) -> PaperBlock:
    shell = paper_shell(item.paper)
    hits = item.hits or []
    featured = item.section == DigestItem.Section.FEATURED
    abstract_html = highlight(str(shell.static["abstract"]), [h for h in hits if h.get("term")])
    reasons = reasons_text(hits, featured)
    reasons_wrapped = wrap(f"Why: {reasons}") if reasons else ""
    context = {
        **shell.static,
        "abstract_html": abstract_html,
        "reasons": reasons,
        "reasons_wrapped": reasons_wrapped,
        "reasons_html": reasons_html(hits, featured),
    }
    if shell.html is not None and reasons:
        before, between, after = shell.html
        html = mark_safe(  # noqa: S308 - the shell was autoescaped; the fills are SafeStrings
            before + abstract_html + between + context["reasons_html"] + after
        )
    else:
        html = mark_safe(  # noqa: S308 - rendered by an autoescaping template
            _partial("emails/_digest-paper.html").render(Context({"paper": context}))
        )
    if shell.text is not None and reasons:
        text = shell.text[0] + reasons_wrapped + shell.text[1]
    else:
        text = _partial("emails/_digest-paper.txt").render(
            Context({"paper": context}, autoescape=False)
        )
    return PaperBlock(title=str(shell.static["title"]), html=html, text=text)


@functools.cache
def _partial(name: str) -> Template:
    return composer._engine().get_template(name)


def item_context(item: DigestItem, user, feedback_base: str) -> dict[str, object]:
    block = paper_block(item)
    return {
        "rank": item.rank,
        "title": block.title,
        "html": block.html,
        "text": block.text,
        # Signed per user and paper: a click records feedback without logging in.
        "more_url": feedback_base.replace(
            TOKEN_SLOT, links.feedback_token(user.pk, item.paper_id, "more")
        ),
        "less_url": feedback_base.replace(
            TOKEN_SLOT, links.feedback_token(user.pk, item.paper_id, "less")
        ),
    }


TOKEN_SLOT = "TOKEN-SLOT"


def feedback_base_url() -> str:
    """The feedback URL with a slot for the token: one ``reverse()`` per email, not two per
    paper (``links.feedback_url`` builds the same URL, one at a time)."""
    return links.absolute(reverse("feedback", args=[TOKEN_SLOT]))


def email_context(digest: Digest, items: Iterable[DigestItem]) -> dict[str, object]:
    items = list(items)
    shown = [item for item in items if item.in_email]
    user = digest.user
    base = feedback_base_url()
    featured = [
        item_context(i, user, base) for i in shown if i.section == DigestItem.Section.FEATURED
    ]
    matched = [
        item_context(i, user, base) for i in shown if i.section != DigestItem.Section.FEATURED
    ]
    sections = []
    if featured:
        sections.append({"title": "Featured", "items": featured})
    if matched:
        sections.append(
            {"title": "Matching your subscriptions" if featured else "", "items": matched}
        )
    total = digest.papers_total if digest.papers_total else len(items)
    view_url = links.digest_view_url(digest)
    first_titles = [item["title"] for item in (featured + matched)[:2]]
    return {
        "digest": digest,
        "date_label": date_label(digest.date),
        "headline": headline(total),
        "count": total,
        "sections": sections,
        "more_count": max(total - len(shown), 0),
        "more_url": view_url or links.manage_url(),
        "view_url": view_url,
        "manage_url": links.manage_url(),
        "unsubscribe_url": links.unsubscribe_url(digest.user),
        "preheader": " · ".join(first_titles) or "No new papers matched your subscriptions.",
        "footer_reason": "You receive this digest because you follow papers on",
    }


def message_id_for(delivery: Delivery) -> str:
    """The Message-ID of a delivery: the same on every attempt, so a resend after a crash is
    recognisable as the same message (at the sink, in the recipient's client, in the admin)."""
    if delivery.message_id:
        return delivery.message_id
    tag = salted_hmac("paperboy.message-id", str(delivery.pk)).hexdigest()[:12]
    return f"<digest.{delivery.pk}.{tag}@{composer.message_id_domain()}>"


def list_headers(user) -> dict[str, str]:
    targets = [links.unsubscribe_url(user), links.unsubscribe_mailto(user)]
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
    items: Iterable[DigestItem] | None = None,
    delivery: Delivery | None = None,
) -> EmailMultiAlternatives:
    """The digest as a message ready to send. ``items`` defaults to the stored ones; pass the
    unsaved items of a plan to preview. The Message-ID is the delivery's when there is one."""
    if items is None:
        items = digest.items.select_related("paper").order_by("rank")
    headers = list_headers(digest.user)
    if delivery is None and digest.pk is not None:
        delivery = Delivery.objects.filter(digest=digest).first()
    if delivery is not None:
        headers["Message-ID"] = message_id_for(delivery)
    return composer.compose(
        "digest",
        to=delivery.to_email if delivery is not None else digest.user.email,
        context=email_context(digest, items),
        headers=headers,
        connection=connection,
    )
