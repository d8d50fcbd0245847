"""A candidate: one paper on its way into one user's digest, gathering the hits of its matches.

Its own small module because two steps of planning a digest fill it in: compose gathers a
user's matches into candidates, and ``digest.digests.readers`` adds each rated reader's model
term and "close to a paper you liked" to them, and makes suggestions of the same shape. Here,
neither imports the other's module to reach it (compose calls readers).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from digest.digests.models import DigestItem
from subscriptions import explain
from subscriptions.ranking import rank_key

# What a digest item keeps of a reader's interest or a liked paper's title, for its reasons
# (``subscriptions.explain`` quotes less of it): enough to quote, not a paragraph per paper.
STORED_TEXT_CHARS = 300


@dataclass
class Candidate:
    """A paper on its way into one user's digest, gathering the hits of its matches."""

    paper_id: int
    featured: bool  # featured, or featured everywhere: either way it leads the digest
    created_at: dt.datetime
    upvotes: int = 0
    score: float = 0.0  # the best boolean-match score (``rank_key``'s tie-breaking)
    hits: list[dict] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)  # per subscription (id)
    similarities: dict[int, float | None] = field(default_factory=dict)  # z, per subscription
    reader: float | None = None  # the reader model's correction (fair_order)

    def add_match(
        self,
        hits: object,
        score: float,
        subscription_id: int,
        name: str,
        *,
        similarity: float | None = None,
        interest: str | None = None,
    ) -> dict | None:
        """Merge one subscription's match: each distinct (term, field) of its hits once, named
        after the subscription, and how close in meaning the paper is to its ``interest`` (a
        ``meaning`` entry, ``subscriptions.explain``; ``None``: the subscription has no interest,
        its similarity only ranks); a match with neither still says where it came from. Returns
        the meaning entry, if any."""
        named = {"subscription": name, "subscription_id": subscription_id}
        terms = {
            (str(hit.get("term", "")), str(hit.get("field", ""))): None
            for hit in (hits if isinstance(hits, list) else ())
            if isinstance(hit, dict)
        }
        self.hits += [{"term": term, "field": where, **named} for term, where in terms]
        meaning = None
        if similarity is not None and interest is not None:
            meaning = {
                "field": explain.MEANING,
                "term": explain.tidy(interest, STORED_TEXT_CHARS),
                "similarity": similarity,
                **named,
            }
            self.hits.append(meaning)
        elif not terms:
            self.hits.append(named)
        self.score = max(self.score, score)
        self.scores[subscription_id] = max(self.scores.get(subscription_id, score), score)
        self.similarities[subscription_id] = similarity
        return meaning

    def rank_key(self) -> tuple:
        return rank_key(
            featured=self.featured,
            score=self.score,
            created_at=self.created_at,
            paper_id=self.paper_id,
            subscriptions=len(self.scores),
            upvotes=self.upvotes,
        )

    @property
    def follows_an_author(self) -> bool:
        """A followed author's new paper: never cut by the cap (a reader who follows someone
        wants every paper of theirs, and one author writes few)."""
        return any(hit.get("field") == "author" for hit in self.hits)

    @property
    def section(self) -> str:
        return DigestItem.Section.FEATURED if self.featured else DigestItem.Section.MATCHED
