"""The curation panel for papers, sources, digests and deliveries (django-unfold).

Every value shown here comes from feeds or people, so nothing is marked safe: display methods
return plain strings (the templates escape them) or go through ``format_html``.
Actions call the plain functions in ``digest.curation``; the numbers come from
``digest.digests.reports``.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import models
from django.db.models import Count, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import (
    DropdownFilter,
    RangeDateFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import action, display
from unfold.widgets import (
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
)

from digest import curation
from digest.digests import reports
from digest.digests.models import Delivery, DeliveryHold, Digest, DigestItem, Suppression
from digest.papers.ingest.addresses import AddressRefused, check_url
from digest.papers.ingest.text import clean_text
from digest.papers.models import Paper, Sighting, Source
from digest.papers.search import search_papers
from digest.web.admin import today as admin_today
from subscriptions.explain import explain
from subscriptions.models import Feedback

STATUS_LABELS = {
    "ok": "success",
    "not_modified": "info",
    "never": "info",
    "partial": "warning",
    "error": "danger",
    "pending": "info",
    "sending": "info",
    "retrying": "warning",
    "sent": "success",
    "failed": "danger",
    "suppressed": "danger",
    "cancelled": "info",
}


def short(text: str, length: int = 80) -> str:
    return Truncator(text or "").chars(length)


def log_bulk_change(request: HttpRequest, queryset: QuerySet, message: str) -> None:
    """One admin history entry per changed row, so every curation step has a name and a time."""
    LogEntry.objects.log_actions(
        user_id=request.user.pk, queryset=queryset, action_flag=CHANGE, change_message=message
    )


def https_formfield(db_field, **kwargs):
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class HttpsURLMixin:
    """URL fields assume https when the scheme is left out (Django 6's default, without the
    deprecation warning of Django 5)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# --- Sources ----------------------------------------------------------------------------------


class SourceForm(forms.ModelForm):
    class Meta:
        model = Source
        formfield_callback = https_formfield
        fields = ["name", "kind", "url", "enabled"]

    def clean_url(self) -> str:
        """Refuse at once what the fetch would refuse without a look-up (another scheme, a
        private address written out); names are checked on every fetch."""
        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except AddressRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url


@admin.register(Source)
class SourceAdmin(HttpsURLMixin, ModelAdmin):
    form = SourceForm
    list_display = (
        "name",
        "kind",
        "enabled",
        "status",
        "last_fetched_at",
        "last_count",
        "papers_per_day_7d",
        "error",
    )
    list_display_links = ("name",)
    list_filter = ("enabled", "kind", "last_status")
    search_fields = ("name", "url", "last_error")
    ordering = ("name",)
    actions = ["fetch_now", "enable", "disable"]
    actions_submit_line = ["fetch_now_after_save"]
    readonly_fields = (
        "last_fetched_at",
        "last_status",
        "last_error",
        "last_count",
        "etag",
        "last_modified",
        "created_at",
        "papers_per_day",
    )
    fieldsets = (
        (None, {"fields": ("name", "kind", "url", "enabled")}),
        (
            "Last fetch",
            {
                "fields": (
                    "last_fetched_at",
                    "last_status",
                    "last_count",
                    "last_error",
                    "etag",
                    "last_modified",
                    "created_at",
                )
            },
        ),
        ("Papers per day", {"fields": ("papers_per_day",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        week_ago = timezone.now() - dt.timedelta(days=7)
        return (
            super()
            .get_queryset(request)
            .annotate(
                papers_week=Count("sighting", filter=Q(sighting__first_seen_at__gte=week_ago))
            )
        )

    @display(description="Status", ordering="last_status", label=STATUS_LABELS)
    def status(self, source: Source) -> tuple[str, str]:
        return source.last_status, source.get_last_status_display()

    @display(description="Papers/day (7 days)", ordering="papers_week")
    def papers_per_day_7d(self, source: Source) -> str:
        return f"{source.papers_week / 7:.1f}"

    @display(description="Last error")
    def error(self, source: Source) -> str:
        return short(source.last_error, 100)

    @display(description="New papers per day, last 14 days")
    def papers_per_day(self, source: Source) -> str:
        if source.pk is None:
            return "—"
        days = reports.papers_per_day(source, today=timezone.localdate())
        return format_html(
            '<table class="paperboy-days"><tr>{}</tr><tr>{}</tr></table>',
            format_html_join("", "<th>{}</th>", ((day.strftime("%b %d"),) for day, _ in days)),
            format_html_join("", "<td>{}</td>", ((count,) for _, count in days)),
        )

    def _enqueue(self, request: HttpRequest, sources: QuerySet[Source]) -> None:
        names = []
        for source in sources:
            curation.fetch_source_now(source.pk)
            names.append(source.name)
        if names:
            self.message_user(
                request, f"Fetching now: {', '.join(names)}. Refresh to see the result."
            )

    @action(description="Fetch now", permissions=["change"], icon="download")
    def fetch_now(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        self._enqueue(request, queryset)

    @action(description="Save and fetch now", permissions=["change"])
    def fetch_now_after_save(self, request: HttpRequest, source: Source) -> None:
        self._enqueue(request, Source.objects.filter(pk=source.pk))

    @action(description="Enable", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        count = queryset.update(enabled=True)
        self.message_user(request, f"Enabled {count} source(s).")

    @action(description="Disable", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        count = queryset.update(enabled=False)
        self.message_user(request, f"Disabled {count} source(s).")


# --- Papers -----------------------------------------------------------------------------------


class PaperCurationForm(forms.ModelForm):
    """The paper as curators edit it: authors one per line, a single "feature" choice."""

    feature = forms.ChoiceField(
        choices=[(choice.value, label) for choice, label in curation.FEATURE_LABELS.items()],
        widget=UnfoldAdminRadioSelectWidget,
        help_text="Featured papers come first, in a “Featured” section.",
    )
    authors_lines = forms.CharField(
        label="Authors",
        required=False,
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 4}),
        help_text="One name per line, in byline order.",
    )
    categories_line = forms.CharField(
        label="Categories",
        required=False,
        widget=UnfoldAdminTextInputWidget,
        help_text="arXiv categories separated by spaces, e.g. cs.CL cs.LG",
    )

    class Meta:
        model = Paper
        formfield_callback = https_formfield
        fields = [
            "title",
            "abstract",
            "primary_category",
            "abs_url",
            "pdf_url",
            "code_url",
            "hf_url",
            "hidden",
            "curator_note",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        paper = self.instance
        self.fields["feature"].initial = curation.Feature.of(paper).value
        self.fields["authors_lines"].initial = "\n".join(paper.authors or [])
        self.fields["categories_line"].initial = " ".join(paper.categories or [])

    # Curators' text is cleaned exactly as feed text is (digest.papers.ingest.text.clean_text):
    # a control character typed or pasted here would otherwise be stored and make every
    # reader's Atom feed that lists the paper fail (XML 1.0 cannot carry it).

    def clean_title(self) -> str:
        title = clean_text(self.cleaned_data["title"])
        if not title:
            raise forms.ValidationError("A paper needs a title.")
        return title

    def clean_abstract(self) -> str:
        return clean_text(self.cleaned_data["abstract"])

    def clean_primary_category(self) -> str:
        return clean_text(self.cleaned_data["primary_category"])

    def clean_curator_note(self) -> str:
        return clean_text(self.cleaned_data["curator_note"], keep_lines=True)  # paragraphs

    def clean_authors_lines(self) -> list[str]:
        # Lines are what the browser sends as line breaks; str.splitlines() would also split
        # at a stray form feed or vertical tab inside a name.
        text = self.cleaned_data["authors_lines"].replace("\r\n", "\n").replace("\r", "\n")
        return [name for name in (clean_text(line) for line in text.split("\n")) if name]

    def clean_categories_line(self) -> list[str]:
        return clean_text(self.cleaned_data["categories_line"]).split()

    def save(self, commit: bool = True) -> Paper:
        paper = super().save(commit=False)
        for name, value in curation.Feature(self.cleaned_data["feature"]).fields().items():
            setattr(paper, name, value)
        paper.authors = self.cleaned_data["authors_lines"]
        paper.categories = self.cleaned_data["categories_line"]
        if commit:
            paper.save()
            self._save_m2m()
        return paper


class CategoryFilter(DropdownFilter):
    title = "category"
    parameter_name = "category"

    def lookups(self, request, model_admin):
        categories = (
            Paper.objects.exclude(primary_category="")
            .values_list("primary_category", flat=True)
            .distinct()
            .order_by("primary_category")
        )
        return [(category, category) for category in categories]

    def queryset(self, request, queryset):
        category = self.value()
        if not category:
            return queryset
        # Cross-listed papers count too: their JSON list holds the quoted category name.
        return queryset.alias(categories_text=Cast("categories", output_field=TextField())).filter(
            Q(primary_category=category) | Q(categories_text__contains=f'"{category}"')
        )


class HasCodeFilter(admin.SimpleListFilter):
    title = "code"
    parameter_name = "has_code"

    def lookups(self, request, model_admin):
        return [("yes", "Has code"), ("no", "No code")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(code_url="")
        if self.value() == "no":
            return queryset.filter(code_url="")
        return queryset


class FeatureFilter(admin.SimpleListFilter):
    title = "featured"
    parameter_name = "feature"

    def lookups(self, request, model_admin):
        return [(choice.value, label) for choice, label in curation.FEATURE_LABELS.items()]

    def queryset(self, request, queryset):
        if self.value() in {feature.value for feature in curation.Feature}:
            return queryset.filter(**curation.Feature(self.value()).fields())
        return queryset


class SightingInline(TabularInline):
    model = Sighting
    extra = 0
    fields = ("source", "announce_type", "first_seen_at")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "Seen by"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Paper)
class PaperAdmin(HttpsURLMixin, ModelAdmin):
    form = PaperCurationForm
    # Few, narrow columns, so Featured and Hidden stay in view in a 1280 px window; when a
    # paper arrived and whether it has code are filters (and on its change page).
    list_display = (
        "paper_id",
        "title_text",
        "category",
        "announced_on",
        "match_count",
        "feature_state",
        "hidden",
    )
    list_display_links = ("paper_id", "title_text")
    list_filter_submit = True
    list_filter = (
        ("announced_on", RangeDateFilter),
        "created_at",
        ("sources", RelatedDropdownFilter),
        CategoryFilter,
        HasCodeFilter,
        FeatureFilter,
        "hidden",
    )
    search_fields = ("title",)  # the real search is get_search_results (paper_search)
    search_help_text = "Title, abstract, author or arXiv id"
    list_per_page = 50
    inlines = [SightingInline]
    actions = ["feature", "feature_everywhere", "unfeature", "hide", "unhide"]
    readonly_fields = (
        "key",
        "arxiv_id",
        "arxiv_version",
        "doi",
        "published_at",
        "updated_at",
        "announced_on",
        "announce_type",
        "upvotes",
        "hf_daily_on",
        "hf_submitter",
        "hf_organization",
        "thumbnail_url",
        "created_at",
        "matched_at",
        "modified_at",
        "match_link",
    )
    fieldsets = (
        ("Curation", {"fields": ("feature", "hidden", "curator_note")}),
        (
            "Paper",
            {
                "fields": (
                    "title",
                    "authors_lines",
                    "abstract",
                    "categories_line",
                    "primary_category",
                )
            },
        ),
        ("Links", {"fields": ("abs_url", "pdf_url", "code_url", "hf_url")}),
        (
            "From the feeds",
            {
                "classes": ("collapse",),
                "fields": (
                    "key",
                    "arxiv_id",
                    "arxiv_version",
                    "doi",
                    "published_at",
                    "updated_at",
                    "announced_on",
                    "announce_type",
                    "upvotes",
                    "hf_daily_on",
                    "hf_submitter",
                    "hf_organization",
                    "thumbnail_url",
                    "created_at",
                    "matched_at",
                    "modified_at",
                    "match_link",
                ),
            },
        ),
    )

    def get_urls(self):
        return admin_today.urls(self) + super().get_urls()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Paper]:
        return super().get_queryset(request).annotate(match_total=Count("matches", distinct=True))

    def get_search_results(self, request, queryset, search_term):
        return search_papers(queryset, search_term), False

    @display(description="Paper", ordering="arxiv_id")
    def paper_id(self, paper: Paper) -> str:
        return paper.arxiv_id or short(paper.key, 24)

    @display(description="Title", ordering="title")
    def title_text(self, paper: Paper) -> str:
        return short(paper.title, 90)

    @display(description="Matches", ordering="match_total")
    def match_count(self, paper: Paper) -> int:
        return paper.match_total

    @display(
        description="Featured",
        label={"in matches": "primary", "everywhere": "success"},
    )
    def feature_state(self, paper: Paper) -> str:
        feature = curation.Feature.of(paper)
        return {"matching": "in matches", "everywhere": "everywhere"}.get(feature.value, "")

    @display(description="Category", ordering="primary_category")
    def category(self, paper: Paper) -> str:
        return paper.primary_category

    @display(description="Matches")
    def match_link(self, paper: Paper) -> str:
        if paper.pk is None:
            return "—"
        url = reverse("admin:subscriptions_match_changelist") + f"?paper__id__exact={paper.pk}"
        return format_html('<a href="{}">{} matching subscriptions</a>', url, paper.match_total)

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Paper], change, message: str) -> None:
        papers = list(queryset)
        changed = change(Paper.objects.filter(pk__in=[paper.pk for paper in papers]))
        log_bulk_change(request, papers, message)
        self.message_user(request, f"{message}: {changed} paper(s).", messages.SUCCESS)

    @action(description="Feature in the digests they match", permissions=["change"])
    def feature(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._bulk(
            request,
            queryset,
            lambda papers: curation.set_feature(papers, curation.Feature.MATCHING),
            "Featured in matching digests",
        )

    @action(description="Feature in every digest", permissions=["change"])
    def feature_everywhere(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._bulk(
            request,
            queryset,
            lambda papers: curation.set_feature(papers, curation.Feature.EVERYWHERE),
            "Featured in every digest",
        )

    @action(description="Unfeature", permissions=["change"])
    def unfeature(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._bulk(
            request,
            queryset,
            lambda papers: curation.set_feature(papers, curation.Feature.NONE),
            "Unfeatured",
        )

    @action(description="Hide (never sent, never shown)", permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._bulk(request, queryset, lambda papers: curation.set_hidden(papers, True), "Hidden")

    @action(description="Unhide", permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._bulk(request, queryset, lambda papers: curation.set_hidden(papers, False), "Unhidden")


@admin.register(Sighting)
class SightingAdmin(ModelAdmin):
    list_display = ("paper", "source", "announce_type", "first_seen_at")
    list_filter = (("source", RelatedDropdownFilter), "announce_type", "first_seen_at")
    list_filter_submit = True
    search_fields = ("paper__title", "paper__arxiv_id", "source__name")
    list_select_related = ("paper", "source")
    raw_id_fields = ("paper",)


# --- Digests and deliveries -------------------------------------------------------------------


class ReadOnlyAdminMixin:
    """Rows written by the daily run: curators and operators look, the pipeline writes."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class DigestItemInline(ReadOnlyAdminMixin, TabularInline):
    model = DigestItem
    fk_name = "digest"
    extra = 0
    can_delete = False
    fields = ("rank", "section", "paper", "score", "in_email", "why")
    readonly_fields = fields
    per_page = 50

    @display(description="Why it matched")
    def why(self, item: DigestItem) -> str:
        return explain(item.hits)


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("user", "date", "papers_total", "items_in_email", "delivery_status")
    list_filter = (("date", RangeDateFilter), "delivery__status")
    list_filter_submit = True
    search_fields = ("user__email",)
    list_select_related = ("user", "delivery")
    date_hierarchy = "date"
    inlines = [DigestItemInline]
    fields = ("user", "date", "period_start", "period_end", "papers_total", "created_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Digest]:
        return (
            super()
            .get_queryset(request)
            .annotate(in_email=Count("items", filter=Q(items__in_email=True)))
        )

    @display(description="In the email", ordering="in_email")
    def items_in_email(self, digest: Digest) -> int:
        return digest.in_email

    @display(description="Delivery", label=STATUS_LABELS)
    def delivery_status(self, digest: Digest) -> str:
        delivery = getattr(digest, "delivery", None)
        return delivery.status if delivery else ""


@admin.register(DigestItem)
class DigestItemAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("paper", "user", "digest_date", "rank", "section", "in_email", "why")
    list_filter = ("section", "in_email", ("digest__date", RangeDateFilter))
    list_filter_submit = True
    search_fields = ("user__email", "paper__title", "paper__arxiv_id")
    list_select_related = ("paper", "user", "digest")
    fields = ("digest", "user", "paper", "rank", "section", "score", "in_email", "why")
    readonly_fields = fields

    @display(description="Digest date", ordering="digest__date")
    def digest_date(self, item: DigestItem) -> dt.date:
        return item.digest.date

    @display(description="Why it matched")
    def why(self, item: DigestItem) -> str:
        return explain(item.hits)


class HasErrorFilter(admin.SimpleListFilter):
    title = "failure reason"
    parameter_name = "has_error"

    def lookups(self, request, model_admin):
        return [("yes", "With an error"), ("no", "Without an error")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(last_error="")
        if self.value() == "no":
            return queryset.filter(last_error="")
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = (
        "to_email",
        "digest_date",
        "status_label",
        "attempts",
        "failure",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("status", HasErrorFilter, ("digest__date", RangeDateFilter), "sent_at")
    list_filter_submit = True
    search_fields = ("to_email", "message_id", "last_error")
    list_select_related = ("digest",)
    list_before_template = "admin/digest/delivery/run_summary.html"
    actions = ["resend"]
    fields = (
        "digest",
        "to_email",
        "status",
        "attempts",
        "last_error",
        "message_id",
        "next_attempt_at",
        "claimed_by",
        "lease_until",
        "sent_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_resend_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("digests.resend_delivery")

    def changelist_view(self, request, extra_context=None):
        today = timezone.localdate()
        extra_context = {
            **(extra_context or {}),
            "run_today": reports.run_counts(today),
            "run_today_held": curation.is_held(today),
            "run_history": reports.run_history(today=today),
            "failure_reasons": reports.failure_reasons(
                since=timezone.now() - dt.timedelta(days=14)
            ),
            "run_statuses": reports.RUN_STATUSES,
        }
        return super().changelist_view(request, extra_context)

    @display(description="Digest date", ordering="digest__date")
    def digest_date(self, delivery: Delivery) -> dt.date:
        return delivery.digest.date

    @display(description="Status", ordering="status", label=STATUS_LABELS)
    def status_label(self, delivery: Delivery) -> tuple[str, str]:
        return delivery.status, delivery.get_status_display()

    @display(description="Failure reason")
    def failure(self, delivery: Delivery) -> str:
        return short(delivery.last_error, 120)

    @action(description="Resend failed deliveries", permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        report_resends(self, request, queryset)


def report_resends(model_admin: ModelAdmin, request: HttpRequest, deliveries) -> None:
    """Resend each delivery and tell the curator what happened to each, in one message each."""
    outcomes: dict[curation.Resend, list[str]] = {outcome: [] for outcome in curation.Resend}
    for delivery in deliveries:
        outcomes[curation.resend_delivery(delivery.pk)].append(delivery.to_email)
    if outcomes[curation.Resend.QUEUED]:
        model_admin.message_user(
            request,
            f"Queued again: {', '.join(outcomes[curation.Resend.QUEUED])}.",
            messages.SUCCESS,
        )
    if outcomes[curation.Resend.SUPPRESSED]:
        model_admin.message_user(
            request,
            "Not resent, the address is suppressed (remove the suppression first): "
            f"{', '.join(outcomes[curation.Resend.SUPPRESSED])}.",
            messages.WARNING,
        )
    if outcomes[curation.Resend.NOT_FAILED]:
        model_admin.message_user(
            request,
            f"Not resent, not failed: {', '.join(outcomes[curation.Resend.NOT_FAILED])}.",
            messages.WARNING,
        )


@admin.register(Suppression)
class SuppressionAdmin(ModelAdmin):
    list_display = ("email", "reason", "detail_text", "created_at")
    list_filter = ("reason", "created_at")
    search_fields = ("email", "detail")

    @display(description="Detail")
    def detail_text(self, suppression: Suppression) -> str:
        return short(suppression.detail, 100)


@admin.register(DeliveryHold)
class DeliveryHoldAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Holds are placed and lifted on Today's issue, where releasing also sends what waited;
    deleting a row here would leave the waiting deliveries unsent."""

    list_display = ("date", "created_by", "reason", "created_at")
    list_select_related = ("created_by",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("user", "paper", "kind", "created_at")
    list_filter = ("kind", "created_at")
    search_fields = ("user__email", "paper__title", "paper__arxiv_id")
    list_select_related = ("user", "paper")
