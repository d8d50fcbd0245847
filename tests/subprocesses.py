"""Running Paperboy in a child process (a Celery worker, ``manage.py``) against the test
database, so tests can exercise real processes, not in-process shortcuts.

The test must use ``transactional_db`` (or ``django_db(transaction=True)``): rows the test
creates are then committed, and visible to the child.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parent.parent


def child_database_url() -> str:
    """A ``DATABASE_URL`` for the database the tests are running on (``test_…``)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("the SQLite test database must be a file (see settings TEST)")
        return f"sqlite:///{name}"
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: this one's, pointed at the test database."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="digest.settings",
        DATABASE_URL=child_database_url(),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
