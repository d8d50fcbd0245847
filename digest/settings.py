"""Paperboy settings: every value comes from the environment, with embedded defaults.

With no environment at all Paperboy runs on one box with no servers to install: SQLite under
``var/``, a filesystem Celery broker, a file-based cache and outgoing mail to the local sink that
``make run`` starts (``manage.py mailsink``). ``DATABASE_URL``, ``REDIS_URL`` and ``EMAIL_URL``
switch to PostgreSQL, Redis and a real SMTP server. With ``DEBUG`` off the settings refuse to
start without a ``SECRET_KEY`` and ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def envbool(name: str, default: str) -> bool:
    """Strict boolean parsing: a typo in a flag must not silently mean "off"."""
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from exc


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number") from exc


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def envnetworks(name: str, default: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated networks in CIDR notation (``10.1.2.0/24,::1/128``); an address alone is a
    network of one."""
    networks = []
    for item in envlist(name, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {item!r} is not a network ({exc})") from exc
    return networks


def parse_email_url(url: str) -> dict[str, object]:
    """``smtp://user:password@host:port`` (STARTTLS with ``?tls=true``), ``smtps://`` for
    implicit TLS, ``console://`` to print messages, ``locmem://`` for tests."""
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme not in ("smtp", "smtps"):
        raise ImproperlyConfigured(f"EMAIL_URL scheme {scheme!r} is not smtp, smtps or console")
    return {
        # Django's SMTP backend, DKIM-signing when a key is configured (digest.digests.smtp).
        "EMAIL_BACKEND": "digest.digests.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or (465 if scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": scheme == "smtps",
        "EMAIL_USE_TLS": query.get("tls", "false").lower() in ("1", "true", "yes"),
    }


# --- Core ------------------------------------------------------------------------------------

DEBUG = envbool("DEBUG", "true")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000").rstrip("/")
SITE_NAME = os.environ.get("SITE_NAME", "Paperboy")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", SITE_URL)

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "anymail",
    "csp",
    # Layers, each importing only the ones above it in this list.
    "accounts",
    "digest.papers",
    "subscriptions",
    "digest.digests",
    "digest.web",
    "digest",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "digest.web.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "digest.urls"
WSGI_APPLICATION = "digest.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "digest.web.context_processors.site",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'paperboy.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 0))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; the timeout rides out short locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file, not an in-memory database, so that a real Celery worker started as a
    # subprocess by the tests can open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-paperboy.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery ----------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CELERY_BROKER_URL = REDIS_URL
    # A task not acknowledged within this time is handed to another worker (acks_late tasks).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600)
    }
else:
    # A file-based cache is shared by every process on the box (rate limits need that).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    CELERY_BROKER_URL = "filesystem://"
    _queue_dir = VAR_DIR / "celery-queue"
    (_queue_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
        # Where kombu keeps its exchange tables; by default "control/" in the current directory.
        "control_folder": str(_queue_dir / "control"),
    }

CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "false")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# How often beat runs each step of the daily pipeline (seconds).
INGEST_INTERVAL = envint("INGEST_INTERVAL", 60 * 60)
DIGEST_SCHEDULE_INTERVAL = envint("DIGEST_SCHEDULE_INTERVAL", 5 * 60)

# --- Mail -------------------------------------------------------------------------------------

MAILSINK_HOST = os.environ.get("MAILSINK_HOST", "127.0.0.1")
MAILSINK_PORT = envint("MAILSINK_PORT", 1025)
MAILBOX_DIR = Path(os.environ.get("MAILBOX_DIR", VAR_DIR / "mailbox"))
EMAIL_URL = os.environ.get("EMAIL_URL", f"smtp://{MAILSINK_HOST}:{MAILSINK_PORT}")
globals().update(parse_email_url(EMAIL_URL))
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Paperboy <paperboy@localhost>")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# Where List-Unsubscribe's mailto: goes; empty means only the https link is offered.
UNSUBSCRIBE_MAILTO = os.environ.get("UNSUBSCRIBE_MAILTO", "")
LIST_ID = os.environ.get("LIST_ID", "Paperboy daily digest <digest.paperboy.localhost>")
EMAIL_RATE_PER_SECOND = envfloat("EMAIL_RATE_PER_SECOND", 0)  # 0 means unlimited
EMAIL_MESSAGES_PER_CONNECTION = envint("EMAIL_MESSAGES_PER_CONNECTION", 100)
EMAIL_MAX_ATTEMPTS = envint("EMAIL_MAX_ATTEMPTS", 8)
EMAIL_RETRY_BASE_SECONDS = envint("EMAIL_RETRY_BASE_SECONDS", 60)
DELIVERY_LEASE_SECONDS = envint("DELIVERY_LEASE_SECONDS", 10 * 60)
DKIM_SELECTOR = os.environ.get("DKIM_SELECTOR", "")
DKIM_DOMAIN = os.environ.get("DKIM_DOMAIN", "")
DKIM_PRIVATE_KEY_FILE = os.environ.get("DKIM_PRIVATE_KEY_FILE", "")
ANYMAIL = {"WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", "")}

# --- Scheduling and the outbox (digest/scheduler.py, digest/delivery.py) ----------------------

# Users claimed per build_digests task, and how long a claim lasts before beat retries it.
DIGEST_CHUNK_SIZE = envint("DIGEST_CHUNK_SIZE", 100)
DIGEST_BUILD_LEASE_SECONDS = envint("DIGEST_BUILD_LEASE_SECONDS", 30 * 60)
# One send_due_deliveries task sends for at most this long, then hands over to a fresh task.
DELIVERY_TASK_SECONDS = envint("DELIVERY_TASK_SECONDS", 120)

# --- Digests ----------------------------------------------------------------------------------

DIGEST_DEFAULT_HOUR = envint("DIGEST_DEFAULT_HOUR", 7)
DIGEST_DEFAULT_MAX_PAPERS = envint("DIGEST_DEFAULT_MAX_PAPERS", 25)
# A subscriber's first digest looks this far back, so it is not empty on day one.
DIGEST_FIRST_LOOKBACK_DAYS = envint("DIGEST_FIRST_LOOKBACK_DAYS", 7)
# "You might also like": at most this many papers no subscription matched, close to ones the
# reader liked, after the matched papers of a reader who rated some (0: none).
DIGEST_SUGGESTIONS = envint("DIGEST_SUGGESTIONS", 3)
ARXIV_USER_AGENT = os.environ.get(
    "ARXIV_USER_AGENT", f"Paperboy/0.1 (+{SITE_URL}; mailto:{DEFAULT_FROM_EMAIL})"
)
FETCH_TIMEOUT = envint("FETCH_TIMEOUT", 30)
ARXIV_DELAY_SECONDS = envfloat("ARXIV_DELAY_SECONDS", 3)

# --- Ingest (branch ingest) -------------------------------------------------------------------
# Hosts (and their subdomains) that get ARXIV_DELAY_SECONDS between two requests, counted
# across all workers: arXiv asks for one request every three seconds.
POLITE_HOSTS = envlist("POLITE_HOSTS", "arxiv.org")
# A feed larger than this is refused rather than read into memory.
FETCH_MAX_BYTES = envint("FETCH_MAX_BYTES", 50 * 1024 * 1024)
# Feeds are fetched from public addresses only (no loopback, private, link-local, multicast...:
# a Source URL must not reach into the private network). These networks are allowed too, e.g.
# "10.1.2.0/24" for a feed server on the private network, or "127.0.0.0/8,::1/128" for a
# developer serving a feed from their own machine.
FETCH_ALLOWED_NETWORKS = envnetworks("FETCH_ALLOWED_NETWORKS", "")

# The sources a new installation reads (created by manage.py load_demo, which make run calls):
# arXiv's daily listing of these categories, one RSS feed for all of them, and Hugging Face's
# daily papers. Afterwards they are Sources like any other: admin → Sources.
ARXIV_CATEGORIES = envlist("ARXIV_CATEGORIES", "cs.AI,cs.CL,cs.CV,cs.LG,stat.ML")
for _category in ARXIV_CATEGORIES:
    # "cs.CV", "stat.ML", "hep-th", "astro-ph.GA": a typo would make a feed of nothing.
    if not re.fullmatch(r"[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?", _category):
        raise ImproperlyConfigured(
            f"ARXIV_CATEGORIES: {_category!r} is not an arXiv category (e.g. cs.CV, stat.ML)"
        )

# --- Matching (subscriptions/match_step.py) ----------------------------------------------------
# The last MATCH_RECENT_DAYS days of papers are what previews search and what ranking measures
# word rarity on (IDF); a subscription saved with a new query is re-matched against the papers
# of the last MATCH_REMATCH_DAYS days that its owner has not been sent yet.
MATCH_RECENT_DAYS = envint("MATCH_RECENT_DAYS", 7)
MATCH_REMATCH_DAYS = envint("MATCH_REMATCH_DAYS", 7)
# Papers percolated together (one index build, one transaction).
MATCH_BATCH_PAPERS = envint("MATCH_BATCH_PAPERS", 2000)
# Subscriptions indexed at once against a batch of papers: the match step's memory is bounded by
# this, not by the number of subscribers (each chunk costs a pass over the batch's papers).
MATCH_BATCH_SUBSCRIPTIONS = envint("MATCH_BATCH_SUBSCRIPTIONS", 20_000)

# --- Accounts ---------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
SITE_ID = 1
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = urlsplit(SITE_URL).scheme or "http"
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "subscriptions:list"
ACCOUNT_EMAIL_CONFIRMATION_AUTHENTICATED_REDIRECT_URL = "subscriptions:list"
ACCOUNT_SIGNUP_REDIRECT_URL = "subscriptions:list"
# Sign-up asks for the browser's time zone (accounts.forms.SignupForm); "email me a code"
# logs in without a password. Every allauth form is rate limited through the cache (a real,
# shared cache: Redis, or the file cache on one box), keyed per IP, per email and per user.
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm", "login": "accounts.forms.LoginForm"}
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 10 * 60  # seconds: mail can take a minute or two to arrive
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "request_login_code": "20/m/ip,3/m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
# Paperboy's own public forms (feedback, unsubscribe, preview), same syntax as allauth's:
# "<count>/<period>/<ip|user|key>".
WEB_RATE_LIMITS = {
    "preview": "60/m/ip",
    "feedback": "30/m/ip",
    "subscriptions": "30/m/user",
    "export": "10/h/user",
    "account": "20/m/user",
}
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Web --------------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# The daily page shows papers' pictures as Hugging Face's daily papers do, from Hugging Face's
# CDN: the one host images may come from besides the site itself (CSP img-src below). Ingest keeps
# a thumbnail URL only on this host, so no page ever shows an image the policy refuses.
PAPER_THUMBNAIL_HOST = "cdn-thumbnails.huggingface.co"

# Content-Security-Policy (django-csp): scripts and styles only from our own static files, no
# inline script, images from us and PAPER_THUMBNAIL_HOST, nothing may frame the site. The admin
# (django-unfold) gets two allowances (digest/web/csp.py); a page that needs more says so on its
# view.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "img-src": [SELF, f"https://{PAPER_THUMBNAIL_HOST}"],
        "script-src": [SELF],
        "style-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

if not DEBUG:
    SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "true")
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # No "preload": the preload list wants a max-age of a year or more, and getting off it
    # takes months; a self-hosted instance opts in deliberately, on its own domain, if ever.
    # Django's deploy check warns about exactly that choice (W021), so it is silenced.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Admin and curation panel (django-unfold) -------------------------------------------------
# The sidebar and the dashboard are built per request by the functions named here, so each
# curator sees only the pages their permissions open.

UNFOLD = {
    "SITE_TITLE": f"{SITE_NAME} admin",
    "SITE_HEADER": SITE_NAME,
    "SITE_SUBHEADER": "Curation panel",
    "SITE_SYMBOL": "newspaper",
    "SITE_URL": "/",
    "SHOW_VIEW_ON_SITE": False,
    "DASHBOARD_CALLBACK": "digest.web.admin.dashboard.dashboard_callback",
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
        "navigation": "digest.web.admin.navigation.sidebar_navigation",
    },
}

# The beat schedule is the daily run's own: digest/pipeline.py (BEAT_SCHEDULE).
