"""The Content-Security-Policy header: django-csp's middleware, with the admin's allowances.

The site's policy is ``CONTENT_SECURITY_POLICY`` in the settings (strict: our own scripts and
styles only, no inline script). The admin is django-unfold, whose Alpine.js evaluates its
``x-data``/``@click`` attributes as code (``'unsafe-eval'``) and whose templates carry inline
``style`` attributes; it gets those two allowances and nothing else (still no inline script,
no other origin). Measured in Chromium by tests/test_csp_in_browser.py.
"""

from __future__ import annotations

from csp.constants import UNSAFE_EVAL, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

ADMIN_ALLOWANCES = {"script-src": [UNSAFE_EVAL], "style-src": [UNSAFE_INLINE]}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and request.path_info.startswith(reverse("admin:index")):
            update = dict(parts.update or {})
            for directive, sources in ADMIN_ALLOWANCES.items():
                update[directive] = [*update.get(directive, []), *sources]
            parts.update = update
        return parts
