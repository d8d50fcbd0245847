"""What people follow (subscriptions), what matched (one row per subscription × paper), and
each paper as the matcher analysed it."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from subscriptions.arxiv_categories import CATEGORIES
from subscriptions.compiled import compile_text
from subscriptions.query import QueryError, compose_query, parse


class Subscription(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    name = models.CharField(max_length=100)
    # What to follow, in any combination: a boolean query (matched exactly), a free-text
    # interest and papers like given ones (matched by meaning, ``subscriptions.semantic``).
    # ``categories`` is a filter on all of them; alone, it follows everything in them.
    query = models.TextField(blank=True, help_text="What to follow, e.g. zero-shot AND CLIP")
    categories = models.JSONField(
        default=list,
        blank=True,
        help_text="Only papers in one of these arXiv categories; empty for all of them.",
    )
    interest = models.TextField(
        blank=True,
        help_text="What to follow in your own words, matched by meaning, e.g. "
        "test-time adaptation of vision-language models.",
    )
    examples = models.ManyToManyField(
        "papers.Paper",
        blank=True,
        related_name="example_of",
        help_text="Papers like these are matched by meaning.",
    )
    strictness = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        choices=[(1, "1 — loose"), (2, "2"), (3, "3"), (4, "4"), (5, "5 — strict")],
        help_text="How close in meaning a paper must be; empty for the interest's default.",
    )
    # The interest and the examples as one unit vector (``subscriptions.semantic``), written by
    # ``subscriptions.services`` on every save; null when there is neither.
    interest_vector = models.BinaryField(null=True, blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    # The parsed query as the matcher reads it (JSON), written on every save: the match step
    # loads a million of these in seconds, where parsing the query texts would take minutes.
    # Empty when the query is invalid (the match step skips it) or was bulk-created (the match
    # step compiles it then).
    compiled = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner_id", "name", "id"]
        indexes = [models.Index(fields=["enabled"])]

    def __str__(self) -> str:
        return f"{self.name}: {self.query}"

    def save(self, *args, **kwargs) -> None:
        boolean = self.boolean_query()
        try:
            self.compiled = compile_text(boolean) if boolean else ""
        except QueryError:
            self.compiled = ""
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"query", "categories", "interest_vector"} & set(
            update_fields
        ):
            kwargs["update_fields"] = {*update_fields, "compiled"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Parse the query so a form or the admin shows where it is wrong and what was
        expected there (``QueryError``), instead of saving something that matches nothing;
        refuse unknown categories."""
        super().clean()
        unknown = [c for c in self.categories or [] if c not in CATEGORIES]
        if unknown:
            raise ValidationError(
                {"categories": f"Not an arXiv category: {', '.join(map(str, unknown[:5]))}."}
            )
        try:
            if (self.query or "").strip():
                parse(self.query)
        except QueryError as error:
            raise ValidationError(
                {"query": ValidationError(str(error), code="invalid_query")}
            ) from error

    @property
    def has_interest(self) -> bool:
        """Whether the subscription is matched by meaning too (free text or example papers)."""
        return bool((self.interest or "").strip()) or self.interest_vector is not None

    def boolean_query(self) -> str:
        """What the percolator matches, as query text: the query within the categories, or the
        categories alone when nothing else says what to follow. Empty when the subscription is
        matched by meaning only (the semantic pass applies the categories itself)."""
        query = (self.query or "").strip()
        if not query and self.has_interest:
            return ""
        return compose_query(query, self.categories or [])


class Match(models.Model):
    """A paper matched a subscription. Written by the match step, read when digests are built.

    ``hits`` explains why, as a list of ``{"term": ..., "field": ...}`` dicts; ``score`` ranks
    the paper inside a digest. ``owner`` is copied from the subscription so a digest can be built
    from one indexed query per user.
    """

    # No single-column indexes on subscription and owner: the unique constraint
    # (subscription, paper) and the (owner, paper) index serve those lookups, and the match step
    # writes hundreds of thousands of rows a day, each maintaining every index.
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="matches", db_index=False
    )
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="matches")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="matches", db_index=False
    )
    hits = models.JSONField(default=list)
    score = models.FloatField(default=0)
    # How close in meaning the paper is to the subscription's interest — or, for a boolean-only
    # subscription, to its query's words — in spreads above the typical paper (z,
    # ``subscriptions.semantic_step``); null when the paper had no embedding yet.
    similarity = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "paper"], name="match_once_per_paper")
        ]
        indexes = [models.Index(fields=["owner", "paper"])]
        verbose_name_plural = "matches"

    def __str__(self) -> str:
        return f"{self.subscription_id} ↔ {self.paper_id}"


class PaperAnalysis(models.Model):
    """A paper analysed for matching, stored so that every process reads it instead of analysing
    the paper again: the match step writes it for each new paper, the recent papers (previews,
    ranking, re-matching) for any paper that lacks one. It is stale when the paper was edited
    since (``paper_modified_at``) or another version of the analysis wrote it (``version``);
    then it is analysed and written again. See ``subscriptions.documents`` for the texts."""

    paper = models.OneToOneField(
        "papers.Paper", on_delete=models.CASCADE, primary_key=True, related_name="analysis"
    )
    version = models.PositiveSmallIntegerField()
    paper_modified_at = models.DateTimeField()
    # PaperDoc.stem_text(), name_text(), pair_text() and word_text(): the paper's stems, its
    # authors' and categories' keys, its pairs of adjacent stems and its words, one per line.
    stems = models.TextField()
    names = models.TextField()
    pairs = models.TextField()
    words = models.TextField()
    # PaperDoc.to_json(): everything the evaluator reads.
    doc = models.TextField()

    class Meta:
        verbose_name_plural = "paper analyses"

    def __str__(self) -> str:
        return f"analysis of paper {self.paper_id}"


class Feedback(models.Model):
    """A reader's rating of a paper ("more like this" / "not relevant"), from an email, the
    archive or a page; the latest click wins. It teaches the reader's own ranking model."""

    class Kind(models.TextChoices):
        MORE = "more", "More like this"
        LESS = "less", "Not relevant"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feedback"
    )
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="feedback")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "digest_feedback"
        verbose_name_plural = "feedback"
        constraints = [models.UniqueConstraint(fields=["user", "paper"], name="feedback_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.paper_id}"
