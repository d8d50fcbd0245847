"""The delivery benchmark runs through at a tiny size: the numbers in bench/RESULTS.md come from
a script that still works. No timing is asserted here — speed lives in the benchmark itself.
Marked ``bench``: it runs with ``make bench`` (``pytest -m bench``), not in the default suite."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.subprocesses import PROJECT_DIR

SUMMARY = re.compile(
    r"^delivery N=40 on sqlite, 2 workers: end-to-end \d+ msg/s vs raw \d+ msg/s = \d+% "
    r"\(compose\+deliver alone \d+%\); compose [\d.]+ ms/recipient; peak RSS \d+ MB, "
    r"worker's own \d+ MB, match step's own \d+ MB$"
)


@pytest.mark.bench
def test_the_delivery_benchmark_sends_every_digest_and_ends_with_its_summary(tmp_path):
    # The benchmark makes its own SQLite database and sink; nothing of the test run's settings.
    ignored = ("DATABASE_URL", "BENCH_DATABASE_URL", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if k not in ignored}
    env["TMPDIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "bench/delivery.py", "--subscribers", "40", "--papers", "40"]
        + ["--workers", "2"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    sent = re.search(r"^compose\+deliver: (\d+)/(\d+) sent", result.stdout, re.MULTILINE)
    assert sent and int(sent[1]) == int(sent[2]) > 0, result.stdout
    assert re.search(r"^raw smtplib: \d+ sent", result.stdout, re.MULTILINE), result.stdout
    assert re.search(
        r"^floor: end to end at least 20% of the raw blast: (held|NOT held)$",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
    assert SUMMARY.match(lines[-1]), lines[-1]
