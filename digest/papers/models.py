"""Papers and where they come from: ingest writes ``Source``, ``Paper`` and ``Sighting``.

The tables keep the names they had when these models lived in the ``digest`` app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Source(models.Model):
    class Kind(models.TextChoices):
        ARXIV_API = "arxiv_api", "arXiv API (Atom)"
        ARXIV_FEED = "arxiv_feed", "arXiv RSS/Atom listing"
        HF_DAILY = "hf_daily", "Hugging Face daily papers"
        FEED = "feed", "Any RSS/Atom feed"

    class Status(models.TextChoices):
        NEVER = "never", "Never fetched"
        OK = "ok", "OK"
        NOT_MODIFIED = "not_modified", "Not modified"
        PARTIAL = "partial", "Partly ingested"
        ERROR = "error", "Error"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    url = models.URLField(max_length=1000)
    enabled = models.BooleanField(default=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEVER)
    last_error = models.TextField(blank=True)
    last_count = models.PositiveIntegerField(default=0, help_text="Papers in the last fetch.")
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "digest_source"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PaperQuerySet(models.QuerySet):
    def visible(self) -> PaperQuerySet:
        return self.filter(hidden=False)


class Paper(models.Model):
    """One paper, whichever feeds saw it. ``key`` is ``arxiv:<id>`` when the arXiv id is known,
    else ``doi:<doi>`` or ``url:<link>``, so every source merges into the same row."""

    key = models.CharField(max_length=500, unique=True)
    arxiv_id = models.CharField(max_length=50, null=True, blank=True, unique=True)  # noqa: DJ001
    arxiv_version = models.PositiveSmallIntegerField(null=True, blank=True)
    doi = models.CharField(max_length=200, blank=True)
    title = models.TextField()
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True, help_text="Names, in byline order.")
    categories = models.JSONField(default=list, blank=True)
    primary_category = models.CharField(max_length=50, blank=True, db_index=True)
    comment = models.TextField(blank=True)
    journal_ref = models.TextField(blank=True)

    published_at = models.DateTimeField(null=True, blank=True, help_text="First version.")
    updated_at = models.DateTimeField(null=True, blank=True, help_text="This version.")
    announced_on = models.DateField(null=True, blank=True, db_index=True)
    announce_type = models.CharField(max_length=20, blank=True)

    abs_url = models.URLField(max_length=1000, blank=True)
    pdf_url = models.URLField(max_length=1000, blank=True)
    code_url = models.URLField(max_length=1000, blank=True)
    hf_url = models.URLField(max_length=1000, blank=True)
    upvotes = models.PositiveIntegerField(default=0)
    # What Hugging Face's daily papers say about the paper, shown on the public daily page.
    hf_daily_on = models.DateField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The day Hugging Face listed it among its daily papers.",
    )
    hf_submitter = models.CharField(
        max_length=200, blank=True, help_text="Who put it on Hugging Face's daily papers."
    )
    hf_organization = models.CharField(max_length=200, blank=True)
    thumbnail_url = models.URLField(
        max_length=1000, blank=True, help_text="A picture of the paper (Hugging Face's CDN)."
    )
    sources = models.ManyToManyField(Source, through="Sighting", related_name="papers")

    # Curation.
    featured = models.BooleanField(default=False, db_index=True)
    featured_everywhere = models.BooleanField(
        default=False, help_text="Put it in every digest, not only the ones it matches."
    )
    hidden = models.BooleanField(default=False, db_index=True, help_text="Never sent or shown.")
    curator_note = models.TextField(blank=True)

    # What the paper is about as a vector (``subscriptions.embeddings``: float32, L2-normalised,
    # little-endian bytes), written in the match step. Bytes rather than pgvector so SQLite and
    # PostgreSQL store it alike; similarity is computed in numpy over a chunk of papers at once.
    embedding = models.BinaryField(null=True, editable=False)

    # Ingest bookkeeping. ``created_at`` is when Paperboy first saw the paper: digests cover
    # papers by it, so a late feed never loses a paper. ``matched_at`` is set by the match step.
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    modified_at = models.DateTimeField(auto_now=True)
    matched_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = PaperQuerySet.as_manager()

    class Meta:
        db_table = "digest_paper"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The papers the match step still has to embed: without it, finding none among
            # 10,000 read every row's kilobyte of embedding.
            models.Index(
                fields=["id"],
                condition=models.Q(embedding__isnull=True),
                name="paper_needs_embedding",
            )
        ]

    def __str__(self) -> str:
        return f"{self.arxiv_id or self.key}: {self.title[:80]}"

    def get_absolute_url(self) -> str:
        """The paper's own page, ``/paper/<key>``: the id its Atom feed entries have always
        carried, so they now lead somewhere."""
        return reverse("paper", args=[self.key])

    def links(self) -> list[tuple[str, str]]:
        """Where to read the paper, labelled, web links only (a feed's ``javascript:`` link is
        no link). The demo's papers from Hugging Face listing pages have their page on this site
        as their abstract page: the page does not link to itself."""
        own_page = settings.SITE_URL + self.get_absolute_url()
        candidates = [
            ("Abstract", self.abs_url),
            ("PDF", self.pdf_url),
            ("Code", self.code_url),
            ("Hugging Face", self.hf_url),
        ]
        return [
            (label, url)
            for label, url in candidates
            if url.lower().startswith(("https://", "http://")) and url != own_page
        ]


class Sighting(models.Model):
    """A source listed a paper; the first time it did, and how it announced it."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE)
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE)
    announce_type = models.CharField(max_length=20, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "digest_sighting"
        constraints = [models.UniqueConstraint(fields=["source", "paper"], name="sighting_once")]

    def __str__(self) -> str:
        return f"{self.source_id} saw {self.paper_id}"
