"""The query language's help page and the JSON preview. Thin: the work is in
``subscriptions.query`` and ``subscriptions.preview``."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from digest.web.ratelimit import consume
from subscriptions.preview import PREVIEW_DAYS, PREVIEW_MAX_DAYS, PreviewResult, run_preview
from subscriptions.query import (
    MAX_DEPTH,
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    MIN_PREFIX,
    QueryError,
    parse,
)
from subscriptions.recommendations import arxiv_ids_in

# (query, what it finds) — every one of them is parsed by the tests.
EXAMPLES = [
    ("diffusion model", "both words, anywhere in the title or abstract (model also finds models)"),
    ('"graph neural network"', "the words next to each other, in this order"),
    ("zero-shot", 'the same as "zero shot"; also finds papers that write zeroshot'),
    ("video OR audio", "either word"),
    ("diffusion -survey", "diffusion, but not papers that mention survey"),
    ("diffusion AND NOT survey", "the same, spelled out"),
    ("(video OR audio) generation", "parentheses group alternatives"),
    ("title:transformer", "only in the title; abstract: for only the abstract"),
    ('author:"Yann LeCun"', 'a name in any order: "LeCun, Yann" and "Y. LeCun" match too'),
    ("cat:cs.CV", "an arXiv category; cat:cs.* for every category starting with cs."),
    ("cat:cs", "a whole archive: every cs.* category"),
    ("diffus*", "words starting with diffus: diffusion, diffusive"),
    ("LLM agents -survey cat:cs.CL", "combine all of it"),
]


@require_GET
def query_help(request: HttpRequest) -> HttpResponse:
    """The language, with examples and a box to try a query (no JavaScript needed)."""
    query = request.GET.get("q", "")
    result = None
    if query.strip():
        if not consume(request, "preview"):
            return render(request, "429.html", status=429)
        result = run_preview(query)
    return render(
        request,
        "subscriptions/query_help.html",
        {
            "query": query,
            "preview": result,
            "examples": EXAMPLES,
            "limits": {
                "length": MAX_QUERY_LENGTH,
                "terms": MAX_TERMS,
                "depth": MAX_DEPTH,
                "prefix": MIN_PREFIX,
            },
            "recent_days": settings.MATCH_RECENT_DAYS,
        },
    )


def preview_of(
    data: QueryDict, *, query_name: str = "query", days: int = PREVIEW_DAYS
) -> PreviewResult:
    """The preview of what a subscription form (or the JSON endpoint) submitted: the query
    (``query_name``), ``categories`` (repeated), ``interest``, ``examples`` as written (arXiv
    ids or addresses) and ``strictness``; what is wrong with them is in the result."""
    try:
        strictness = int(data.get("strictness") or 0) or None
    except ValueError:
        strictness = None  # not a number: the default, as the form's "Default" choice
    return run_preview(
        data.get(query_name, ""),
        categories=data.getlist("categories"),
        interest=data.get("interest", ""),
        examples=arxiv_ids_in(data.get("examples", "")),
        strictness=strictness,
        days=days,
    )


@require_GET
def preview_json(request: HttpRequest) -> JsonResponse:
    """``GET ?q=QUERY&days=7`` (and optionally ``categories``, ``interest``, ``examples``,
    ``strictness``, as the subscription form has them) → ``{"ok": true, "papers": [...]}``,
    or ``{"ok": false, "error": ..., "position": N}`` for an invalid query, ``{"ok": false,
    "error": ...}`` for anything else wrong (still HTTP 200: the caller shows it)."""
    if not consume(request, "preview"):
        return JsonResponse({"ok": False, "error": "Too many previews, wait a minute."}, status=429)
    query = request.GET.get("q", "")
    try:
        days = min(max(int(request.GET.get("days", PREVIEW_DAYS)), 1), PREVIEW_MAX_DAYS)
    except ValueError:
        days = PREVIEW_DAYS
    result = preview_of(request.GET, query_name="q", days=days)
    if result.problem:
        return JsonResponse({"ok": False, "error": result.problem})
    error = result.error
    if error is None and result.empty_query:
        try:
            parse(query)  # the parser's own words for an empty query
        except QueryError as empty:
            error = empty
    if error is not None:
        return JsonResponse(
            {
                "ok": False,
                "error": str(error),
                "message": error.message,
                "position": error.position,
                "expected": error.expected,
            }
        )
    papers = [
        {
            "arxiv_id": hit.paper.arxiv_id or "",
            "title": hit.paper.title,
            "hits": hit.hits,
            "abs_url": hit.paper.abs_url,
            "score": round(hit.score, 3),
            "similarity": None if hit.similarity is None else round(hit.similarity, 3),
            "reasons": list(hit.reasons),
        }
        for hit in result.hits
    ]
    return JsonResponse({"ok": True, "days": days, "total": result.total, "papers": papers})
