"""How a domain's run and a whole build end. Strings underneath (`str` mixins), so JSON output,
`.mesh/run_results.json` and the build history keep the words the README documents."""
from __future__ import annotations

from enum import Enum


class _Word(str, Enum):
    def __str__(self) -> str:   # the word itself in f-strings, as on Python 3.10 and 3.12 alike
        return str(self.value)


class DomainStatus(_Word):
    """A domain in one build or check."""

    SUCCESS = "success"
    ERROR = "error"          # dbt failed, a check refused it, or publishing failed
    SKIPPED = "skipped"      # an upstream domain did not build
    CANCELLED = "cancelled"  # Ctrl-C, while it ran or before it started
    UNCHANGED = "unchanged"  # `--changed`: nothing it reads changed since its last build


class BuildStatus(_Word):
    """A whole `mesh build`, as the history records it."""

    SUCCESS = "success"
    ERROR = "error"
    CANCELLED = "cancelled"


# Downstream domains may run after these; a build where every domain ends so succeeded.
DONE = frozenset({DomainStatus.SUCCESS, DomainStatus.UNCHANGED})
# What `mesh retry` builds again.
RETRIED = frozenset({DomainStatus.ERROR, DomainStatus.SKIPPED, DomainStatus.CANCELLED})
