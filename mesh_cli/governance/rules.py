"""The rule catalogue of `mesh check`: ids, default severities, what each rule asks."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str      # default: error, warn or off
    summary: str
    fix: str


# Access, cycles and bypassing refs break the mesh: errors. Documentation, naming and style
# policies warn until a mesh raises them in mesh.yml, so an existing, working mesh still builds.
RULES: dict[str, Rule] = {r.id: r for r in [
    Rule("ref.unknown", "error", "A ref names a domain or model that does not exist.",
         "Fix the domain or model name in the ref."),
    Rule("ref.ambiguous", "error",
         "A one-argument ref names a public model, seed or snapshot that several other domains publish.",
         "Name the domain: {{ ref('<domain>', '<model>') }}."),
    Rule("graph.cycle", "error", "Domains depend on each other in a cycle.",
         "Move the shared models into one domain."),
    Rule("access.cross-domain", "error", "A domain refs another domain's private or protected model, seed or snapshot.",
         "Use a public model, or ask the owner to make the model public."),
    Rule("access.group", "error", "A private model is referenced from outside its group inside a domain.",
         "Move the consumer into the group, or make the model protected."),
    Rule("access.allowed-consumers", "error",
         "A public model that names its allowed consumer domains is referenced by another domain.",
         "Ask the owner to add your domain to the model's allowed consumers."),
    Rule("deps.undeclared", "warn", "A domain refs another domain without declaring it in dependencies.yml.",
         "Add `- name: <domain>` under projects: in dependencies.yml."),
    Rule("deps.unused", "warn", "A dependency declared in dependencies.yml is never referenced.",
         "Remove it from dependencies.yml, or ref one of its public models."),
    Rule("sql.bypass-ref", "error",
         "SQL reads another domain's relation directly instead of through ref().",
         "Replace the relation name with {{ ref('<domain>', '<model>') }}."),
    Rule("version.deprecated", "warn",
         "A consumer refs a deprecated model version (a warning also after the date, as in dbt).",
         "Move to the latest version: ref('<domain>', '<model>', v=<latest>)."),
    Rule("contract.enforced", "warn", "A public model must have an enforced contract.",
         "Add `config: {contract: {enforced: true}}` and list every column with its data_type."),
    Rule("contract.data-types", "warn", "Every column of an enforced contract has a data type.",
         "Add `data_type:` to the column."),
    Rule("docs.description", "warn", "A public model must have a description.",
         "Add `description:` to the model."),
    Rule("owner.group", "warn", "A public model must belong to a group whose owner has an email.",
         "Put the model in a group (`group:`) whose owner has an email."),
    Rule("model.primary-key", "warn",
         "A public model declares a primary key tested (or constrained) unique and not null.",
         "Add a primary_key constraint, or unique and not_null tests, on the key column."),
    Rule("pii.exposed", "warn", "A public model exposes a personal-data column without masking it.",
         "Mask the column with a mesh_macros.mask_* macro, or drop it from the public model."),
    Rule("naming.layer", "warn", "A model's name does not follow its layer's naming pattern.",
         "Rename the model to match the pattern configured for its layer."),
    Rule("dbt.parse", "error", "dbt could not parse the domain.",
         "Read dbt's message and fix the project."),
]}
