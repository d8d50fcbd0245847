"""Rate limits for Paperboy's own forms (allauth limits its own through ACCOUNT_RATE_LIMITS).

Same rate syntax as allauth — ``"<count>/<period>/<ip|user>"``, several separated by commas —
configured in ``settings.WEB_RATE_LIMITS``. Fixed windows counted in the shared cache
(``cache.add`` + ``cache.incr`` are atomic on Redis), so every web process sees the same counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    amount: int
    seconds: int
    per: str


def parse_rates(text: str) -> list[Rate]:
    rates = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        amount, period, *per = part.split("/")
        number, unit = period[:-1] or "1", period[-1]
        rates.append(Rate(int(amount), int(float(number) * UNITS[unit]), per[0] if per else "ip"))
    return rates


def _client_ip(request: HttpRequest) -> str:
    return get_adapter().get_client_ip(request)


def consume(request: HttpRequest, action: str) -> bool:
    """Count one use of ``action``; False when a limit is exceeded."""
    allowed = True
    for rate in parse_rates(settings.WEB_RATE_LIMITS.get(action, "")):
        if rate.per == "user":
            if not request.user.is_authenticated:
                continue
            source = f"user:{request.user.pk}"
        else:
            source = f"ip:{_client_ip(request)}"
        window = int(time.time() // rate.seconds)
        key = f"paperboy:rl:{action}:{rate.amount}/{rate.seconds}:{source}:{window}"
        cache.add(key, 0, timeout=rate.seconds + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=rate.seconds + 1)
            count = 1
        if count > rate.amount:
            allowed = False
    return allowed


def consume_or_429(request: HttpRequest, action: str) -> HttpResponse | None:
    """None when the request may go on, else the "too many requests" page."""
    if consume(request, action):
        return None
    return render(request, "429.html", status=429)
