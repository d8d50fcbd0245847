"""The relevance benchmark runs through at a tiny size: the numbers it prints come from a script
that still works, and the quality goals it reports on the recorded listings are met. No timing
is asserted here — speed lives in the benchmark itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.subprocesses import PROJECT_DIR

SUMMARY = re.compile(
    r"^relevance: AUC keyword 0\.\d{3}, meaning 0\.\d{3}, hybrid 0\.\d{3} \(smallest gain over"
    r" keyword \+0\.\d{3}\); reader model [+-]0\.\d{3} AUC after 10 ratings; embed 40 papers"
    r" [\d.]+ s; 100 readers × 40 papers [\d.]+ s, peak \d+ MB; free text over 60 stored \d+ ms$"
)


@pytest.mark.bench
def test_the_relevance_benchmark_meets_its_quality_goals_and_ends_with_its_summary(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["TMPDIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "bench/relevance.py", "--papers", "40", "--readers", "100"]
        + ["--chunk", "30", "--stored-papers", "60"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Goal: hybrid ≥ keyword + 0.05 on every listing (met:" in result.stdout
    assert "and mean ≥ 0.80 (met:" in result.stdout
    assert SUMMARY.match(result.stdout.strip().splitlines()[-1]), result.stdout[-2000:]
