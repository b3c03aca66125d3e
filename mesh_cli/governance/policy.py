"""Which severity each rule has for a domain and model, as mesh.yml's `governance:` sets it."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from mesh_cli.core.config import Governance
from mesh_cli.core.errors import ConfigError
from mesh_cli.governance.findings import Finding
from mesh_cli.governance.rules import RULES

DEFAULT_PATTERNS = {"public": r"^(fct|dim)_", "staging": r"^stg_", "intermediate": r"^int_"}


class Policy:
    """Governance settings, validated against the rule catalogue once, then asked per finding."""

    def __init__(self, governance: Optional[Governance] = None, config_file: Optional[Path] = None) -> None:
        self.governance = governance or Governance()
        where = str(config_file or "mesh.yml")
        for rule_id, settings in self.governance.rules.items():
            if rule_id not in RULES:
                raise ConfigError(f"{where}: governance.rules.{rule_id}", "is not a rule",
                                  f"known rules: {', '.join(sorted(RULES))} (mesh check --list-rules)")
            for pattern in (settings.patterns or {}).values():
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ConfigError(f"{where}: governance.rules.{rule_id}.patterns", f"'{pattern}' is not a "
                                      f"valid regular expression ({exc})", "fix the pattern") from exc
        self.exceptions = {
            (rule_id, e.model): e.reason
            for rule_id, settings in self.governance.rules.items() for e in settings.exceptions
        }

    def severity(self, rule_id: str, domain: str, model: Optional[str] = None) -> str:
        if model is not None and (rule_id, f"{domain}.{model}") in self.exceptions:
            return "off"
        settings = self.governance.rules.get(rule_id)
        if settings is not None:
            if domain in settings.domains:
                return settings.domains[domain]
            if settings.severity is not None:
                return settings.severity
        return RULES[rule_id].severity

    def finding(self, rule_id: str, domain: str, message: str, model: Optional[str] = None,
                file: Optional[Path] = None, line: Optional[int] = None, fix: Optional[str] = None) -> Optional[Finding]:
        """A finding at the configured severity, or None when the rule is off here."""
        severity = self.severity(rule_id, domain, model)
        if severity == "off":
            return None
        return Finding(rule_id, severity, domain, message, _sentence(fix or RULES[rule_id].fix), model, file, line)

    def patterns(self) -> dict[str, str]:
        settings = self.governance.rules.get("naming.layer")
        return dict(settings.patterns) if settings and settings.patterns is not None else dict(DEFAULT_PATTERNS)

    def allowed_consumers(self, domain: str, model: str, meta: dict) -> Optional[list[str]]:
        """The domains allowed to ref `domain.model`, from mesh.yml or the model's meta; None: any."""
        listed = self.governance.allowed_consumers.get(f"{domain}.{model}")
        if listed is None:
            listed = ((meta or {}).get("mesh") or {}).get("allowed_consumers")
        return list(listed) if listed is not None else None


def _sentence(text: str) -> str:
    """Fixes read as one sentence each, whichever rule wrote them."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
