"""``manage.py match "QUERY" [--days N]``: one line per paper, arXiv id first, then the title
and why it matched; an invalid query is an error on stderr and exit status 2."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.realpapers import real_paper
from tests.subprocesses import PROJECT_DIR, child_env

COSYVOICE = "CosyVoice: A Scalable"
METRIC3D = "Metric3D: Towards Zero-shot"


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("match", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_each_matching_paper_is_one_line_starting_with_its_arxiv_id():
    cosyvoice = real_paper(COSYVOICE, arxiv_id="2407.05407", authors=["Zhihao Du"])
    real_paper(METRIC3D, arxiv_id="2307.10984")
    out, err = run("vocoder OR author:Du")
    assert out.splitlines() == [
        f"2407.05407\t{cosyvoice.title}\tmatched: `vocoder` in abstract, `Zhihao Du` in authors"
    ]
    assert err.strip() == "1 paper in 7 days"


@pytest.mark.django_db
def test_days_widens_the_window():
    real_paper(METRIC3D, arxiv_id="2307.10984", created_at=timezone.now() - dt.timedelta(days=20))
    assert run("zero-shot")[0] == ""
    out, _ = run("zero-shot", "--days", "30")
    assert out.startswith("2307.10984\tMetric3D")
    assert "matched: `zero-shot` in title and abstract" in out


def test_an_invalid_query_is_exit_status_2():
    with pytest.raises(CommandError) as caught:
        run("(zero-shot OR")
    assert caught.value.returncode == 2
    assert "Missing term after OR at column 12" in str(caught.value)


@pytest.mark.django_db(transaction=True)
def test_from_a_shell_an_invalid_query_prints_the_error_and_exits_2():
    result = subprocess.run(
        [sys.executable, "manage.py", "match", "title:"],
        cwd=PROJECT_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Missing value after title: at column 1" in result.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("extra", [[], ["--days", "3"]])
def test_from_a_shell_a_query_starting_with_an_exclusion_works_as_typed(extra):
    result = subprocess.run(
        [sys.executable, "manage.py", "match", *extra, "-video zero-shot"],
        cwd=PROJECT_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "verbosity" not in result.stderr
    assert "papers in" in result.stderr or "paper in" in result.stderr
