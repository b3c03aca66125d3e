"""Ctrl-C while `mesh check` (alone, or as the first phase of `mesh build`) has dbt parse the domains."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ctrl_c_reaches_it

# dbt renders a model's Jinja when it parses it: this one keeps `dbt parse` busy for up to two
# minutes, so Ctrl-C surely comes while the check is parsing.
SLOW_PARSE = """\
{%- set until = modules.datetime.datetime.now() + modules.datetime.timedelta(seconds=120) -%}
{%- for _ in modules.itertools.count() -%}
  {%- if modules.datetime.datetime.now() > until -%}{%- break -%}{%- endif -%}
{%- endfor -%}
select 1 as x
"""


@pytest.mark.parametrize("command", [["check"], ["build"]], ids=["mesh check", "mesh build"])
def test_ctrl_c_during_the_parses_says_the_check_was_cancelled(basic: Path, command: list[str]) -> None:
    (basic / "domains/core/models/slow_parse.sql").write_text(SLOW_PARSE)
    run = subprocess.Popen([sys.executable, "-m", "mesh_cli", *command, "--project-dir", str(basic)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_reaches_it)
    log = basic / ".mesh/logs/check/core.log"
    deadline = time.time() + 60
    while time.time() < deadline and "mesh: dbt parse " not in (log.read_text() if log.is_file() else ""):
        time.sleep(0.2)
    time.sleep(2)   # into the model's rendering
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert (run.returncode, out, err) == (2, "", "Error: cancelled (Ctrl-C) during the check; nothing was built\n")
    assert not (basic / ".mesh/check/core/manifest.json").exists()   # stopped while parsing it
    assert not (basic / ".mesh/build.lock").exists()
    assert not (basic / ".mesh/state/core").exists()
