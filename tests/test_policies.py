"""Governance policies over hand-built dbt manifests: truth tables per rule, severities, exceptions, places."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest

from mesh_cli.core.config import Governance
from mesh_cli.governance.findings import Finding
from mesh_cli.governance.policy import Policy
from mesh_cli.governance.policies import check_manifest

DOMAIN = "shop"
PROJECT = Path("/nowhere/shop")   # no YAML there: findings carry files, lines are None


# --- a builder shaped like dbt 1.11's manifest.json ---------------------------------------------

def col(name: str, data_type: Optional[str] = "integer", *, constraints: tuple[str, ...] = (),
        meta: Optional[dict] = None, tags: tuple[str, ...] = (), config_meta: Optional[dict] = None,
        config_tags: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "name": name, "description": "", "data_type": data_type, "quote": None, "granularity": None,
        "meta": meta or {}, "tags": list(tags), "config": {"meta": config_meta or {}, "tags": list(config_tags)},
        "constraints": [{"type": t, "name": None, "expression": None, "warn_unenforced": True,
                         "warn_unsupported": True, "to": None, "to_columns": []} for t in constraints],
        "doc_blocks": [],
    }


def model(name: str, *, access: str = "protected", folder: str = "marts", package: str = DOMAIN,
          version: Optional[int] = None, latest_version: Optional[int] = None, description: str = "A model.",
          group: Optional[str] = "core", enforced: bool = False, columns: tuple[dict, ...] = (),
          constraints: tuple[dict, ...] = (), raw_code: str = "select 1 as id", depends_on: tuple[str, ...] = (),
          patch: Optional[str] = "default", sql_path: Optional[str] = None) -> dict[str, Any]:
    file_name = f"{name}_v{version}" if version is not None else name
    original = sql_path or f"models/{folder}/{file_name}.sql"
    if patch == "default":
        patch = f"{package}://models/{folder}/_{folder}.yml"
    contract = {"enforced": enforced, "alias_types": True, "checksum": "abc" if enforced else None}
    return {
        "resource_type": "model", "name": name, "package_name": package,
        "unique_id": f"model.{package}.{name}" + (f".v{version}" if version is not None else ""),
        "fqn": [package, *Path(original).parts[1:-1], name], "path": original.split("/", 1)[1],
        "original_file_path": original, "patch_path": patch, "database": "warehouse", "schema": package,
        "alias": file_name, "access": access, "group": group, "version": version, "latest_version": latest_version,
        "deprecation_date": None, "description": description, "columns": {c["name"]: c for c in columns},
        "constraints": list(constraints), "contract": contract, "raw_code": raw_code, "language": "sql",
        "config": {"enabled": True, "materialized": "table", "access": access, "group": group, "meta": {},
                   "tags": [], "contract": {"enforced": enforced, "alias_types": True}},
        "depends_on": {"macros": [], "nodes": list(depends_on)},
    }


def data_test(of: dict[str, Any], column: str, name: str) -> dict[str, Any]:
    return {
        "resource_type": "test", "name": f"{name}_{of['name']}_{column}", "package_name": of["package_name"],
        "unique_id": f"test.{of['package_name']}.{name}_{of['name']}_{column}.0123456789",
        "attached_node": of["unique_id"], "column_name": column,
        "test_metadata": {"name": name, "kwargs": {"column_name": column}, "namespace": None},
        "depends_on": {"macros": [f"macro.dbt.test_{name}"], "nodes": [of["unique_id"]]},
        "original_file_path": of["patch_path"].split("://")[-1] if of["patch_path"] else None,
    }


def source(source_name: str, name: str, columns: tuple[dict, ...]) -> dict[str, Any]:
    return {"resource_type": "source", "name": name, "source_name": source_name, "package_name": DOMAIN,
            "unique_id": f"source.{DOMAIN}.{source_name}.{name}", "columns": {c["name"]: c for c in columns}}


def manifest(*nodes: dict[str, Any], owners: Optional[dict[str, dict]] = None) -> dict[str, Any]:
    """`owners`: group name -> owner, for the groups of DOMAIN (default: group core, with an email)."""
    owners = {"core": {"name": "Core", "email": "core@shop.example"}} if owners is None else owners
    groups = {
        f"group.{DOMAIN}.{name}": {"name": name, "resource_type": "group", "package_name": DOMAIN,
                                   "unique_id": f"group.{DOMAIN}.{name}", "owner": owner,
                                   "original_file_path": "models/_groups.yml", "path": "_groups.yml"}
        for name, owner in owners.items()
    }
    return {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                     "dbt_version": "1.11.16", "project_name": DOMAIN},
        "nodes": {n["unique_id"]: n for n in nodes if n["resource_type"] != "source"},
        "sources": {n["unique_id"]: n for n in nodes if n["resource_type"] == "source"},
        "groups": groups, "macros": {}, "exposures": {}, "metrics": {},
    }


def product(name: str = "dim_customers", **overrides: Any) -> dict[str, Any]:
    """A public model that passes every rule; each test breaks one thing."""
    settings: dict[str, Any] = dict(access="public", enforced=True, description="Data product: one row per customer.",
                                    columns=(col("customer_id", constraints=("not_null", "primary_key")),
                                             col("segment", "varchar")))
    settings.update(overrides)
    return model(name, **settings)


def check(*nodes: dict[str, Any], governance: Optional[dict] = None, domain: str = DOMAIN,
          project_dir: Path = PROJECT, owners: Optional[dict[str, dict]] = None) -> list[Finding]:
    policy = Policy(Governance.model_validate(governance or {}))
    return check_manifest(domain, manifest(*nodes, owners=owners), project_dir, policy)


def messages(findings: list[Finding], rule: Optional[str] = None) -> list[str]:
    return [f.message for f in findings if rule is None or f.rule == rule]


# --- contract.enforced ----------------------------------------------------------------------------

@pytest.mark.parametrize("access, enforced, expected", [
    ("public", False, ["public model 'dim_customers' has no enforced contract"]),
    ("public", True, []),
    ("protected", False, []),
    ("private", False, []),
])
def test_contract_enforced(access: str, enforced: bool, expected: list[str]) -> None:
    findings = check(product(access=access, enforced=enforced))
    assert messages(findings, "contract.enforced") == expected


# --- contract.data-types --------------------------------------------------------------------------

@pytest.mark.parametrize("access, enforced, types, expected_columns", [
    ("public", True, {"id": "integer", "name": None, "email": ""}, ["email", "name"]),
    ("protected", True, {"id": "integer", "name": None}, ["name"]),      # any enforced contract
    ("public", True, {"id": "integer", "name": "varchar"}, []),
    ("protected", False, {"id": None, "name": None}, []),                # no contract, no types needed
])
def test_contract_data_types(access: str, enforced: bool, types: dict[str, Optional[str]],
                             expected_columns: list[str]) -> None:
    columns = tuple(col(name, data_type, constraints=("primary_key",) if name == "id" else ())
                    for name, data_type in types.items())
    findings = [f for f in check(product(access=access, enforced=enforced, columns=columns))
                if f.rule == "contract.data-types"]
    assert [f.message for f in findings] == [
        f"model 'dim_customers' has an enforced contract but column '{c}' has no data_type" for c in expected_columns]
    assert [f.fix for f in findings] == [f"Add `data_type:` to column '{c}' of 'dim_customers'."
                                         for c in expected_columns]


# --- docs.description -----------------------------------------------------------------------------

@pytest.mark.parametrize("access, description, flagged", [
    ("public", "", True),
    ("public", "  \n", True),
    ("public", None, True),
    ("public", "Data product: one row per customer.", False),
    ("protected", "", False),
])
def test_docs_description(access: str, description: Optional[str], flagged: bool) -> None:
    findings = check(product(access=access, description=description))
    assert messages(findings, "docs.description") == (["public model 'dim_customers' has no description"]
                                                      if flagged else [])


# --- owner.group ----------------------------------------------------------------------------------

@pytest.mark.parametrize("access, group, owners, expected, fix", [
    ("public", None, None, "public model 'dim_customers' has no group",
     "Put the model in a group (`group:`) whose owner has an email."),
    ("public", "core", {"core": {"name": "Core"}}, "public model 'dim_customers' is in group 'core', whose owner "
     "has no email", "Add `email:` to the owner of group 'core' in models/_groups.yml."),
    ("public", "core", {"core": {"name": "Core", "email": None}}, "public model 'dim_customers' is in group "
     "'core', whose owner has no email", "Add `email:` to the owner of group 'core' in models/_groups.yml."),
    ("public", "ghost", None, "public model 'dim_customers' is in group 'ghost', whose owner has no email",
     "Add `email:` to the owner of group 'ghost'."),
    ("public", "core", None, None, None),
    ("protected", None, None, None, None),
    ("private", "core", {"core": {"name": "Core"}}, None, None),
])
def test_owner_group(access: str, group: Optional[str], owners: Optional[dict], expected: Optional[str],
                     fix: Optional[str]) -> None:
    findings = [f for f in check(product(access=access, group=group), owners=owners) if f.rule == "owner.group"]
    assert [(f.message, f.fix) for f in findings] == ([(expected, fix)] if expected else [])


# --- model.primary-key ----------------------------------------------------------------------------

def _pk_case(columns: dict[str, tuple[str, ...]], tests: tuple[tuple[str, str], ...] = (),
             model_constraints: tuple[dict, ...] = (), access: str = "public") -> list[dict[str, Any]]:
    node = product(access=access, columns=tuple(col(n, constraints=c) for n, c in columns.items()),
                   constraints=model_constraints)
    return [node, *(data_test(node, column, name) for column, name in tests)]


PK_MESSAGE = "public model 'dim_customers' has no primary key: no column is both unique and not null"


@pytest.mark.parametrize("nodes, flagged, fix", [
    pytest.param(_pk_case({"id": ()}, tests=(("id", "unique"), ("id", "not_null"))), False, None,
                 id="unique and not_null tests"),
    pytest.param(_pk_case({"id": ("primary_key",)}), False, None, id="primary_key column constraint"),
    pytest.param(_pk_case({"id": ("unique", "not_null")}), False, None, id="unique and not_null constraints"),
    pytest.param(_pk_case({"id": ("not_null",)}, tests=(("id", "unique"),)), False, None,
                 id="unique test, not_null constraint"),
    pytest.param(_pk_case({"id": ("unique",)}, tests=(("id", "not_null"),)), False, None,
                 id="unique constraint, not_null test"),
    pytest.param(_pk_case({"id": ()}, model_constraints=({"type": "primary_key", "columns": ["id"]},)), False, None,
                 id="model-level primary_key"),
    pytest.param(_pk_case({"a": (), "b": ()}, model_constraints=({"type": "primary_key", "columns": ["a", "b"]},)),
                 False, None, id="composite model-level primary_key"),
    pytest.param(_pk_case({"a": ("not_null",), "b": ()}, tests=(("b", "not_null"),),
                          model_constraints=({"type": "unique", "columns": ["a", "b"]},)), False, None,
                 id="composite unique, both not null"),
    pytest.param(_pk_case({"a": ("not_null",), "b": ()},
                          model_constraints=({"type": "unique", "columns": ["a", "b"]},)), True, None,
                 id="composite unique, one nullable"),
    pytest.param(_pk_case({"id": ()}, tests=(("id", "unique"),)), True,
                 "Add a not_null test or constraint to 'id'.", id="unique test only"),
    pytest.param(_pk_case({"id": ("unique",)}), True, "Add a not_null test or constraint to 'id'.",
                 id="unique constraint only"),
    pytest.param(_pk_case({"id": ("not_null",)}, tests=(("id", "not_null"),)), True, None, id="not_null only"),
    pytest.param(_pk_case({"id": ("not_null",), "code": ()}, tests=(("code", "unique"),)), True,
                 "Add a not_null test or constraint to 'code'.", id="unique and not_null on different columns"),
    pytest.param(_pk_case({"id": ()}, tests=(("id", "accepted_values"), ("id", "relationships"))), True, None,
                 id="other tests"),
    pytest.param(_pk_case({"id": ()}, access="protected"), False, None, id="protected model"),
])
def test_primary_key(nodes: list[dict[str, Any]], flagged: bool, fix: Optional[str]) -> None:
    findings = [f for f in check(*nodes) if f.rule == "model.primary-key"]
    default = "Add a primary_key constraint, or unique and not_null tests, on the key column."
    assert [(f.message, f.fix) for f in findings] == ([(PK_MESSAGE, fix or default)] if flagged else [])


def test_primary_key_tests_of_another_model_do_not_count() -> None:
    other = model("stg_customers", folder="staging", columns=(col("id"),))
    public = product(columns=(col("id"),))
    assert messages(check(public, other, data_test(other, "id", "unique"), data_test(other, "id", "not_null")),
                    "model.primary-key") == [PK_MESSAGE]


# --- pii.exposed ----------------------------------------------------------------------------------

KEY = col("customer_id", constraints=("primary_key",))
OWN = "public model 'dim_customers' exposes personal-data column 'email' without masking"


@pytest.mark.parametrize("email, raw_code, access, expected", [
    (col("email", "varchar", meta={"pii": True}), "select email from t", "public", OWN),
    (col("email", "varchar", config_meta={"pii": True}), "select email from t", "public", OWN),
    (col("email", "varchar", tags=("pii",)), "select email from t", "public", OWN),
    (col("email", "varchar", config_tags=("pii", "crm")), "select email from t", "public", OWN),
    (col("email", "varchar", meta={"pii": False}), "select email from t", "public", None),
    (col("email", "varchar", tags=("crm",)), "select email from t", "public", None),
    (col("email", "varchar", config_meta={"pii": True}), "select {{ mesh_macros.mask_email('email') }} as email",
     "public", None),
    (col("email", "varchar", config_meta={"pii": True}), "select mask_email(c.email) as email from t as c",
     "public", None),
    (col("email", "varchar", config_meta={"pii": True}), "select {{ mask_phone(\"email\", 4) }} as email",
     "public", None),
    (col("email", "varchar", config_meta={"pii": True, "masked": True}), "select email from t", "public", None),
    (col("email", "varchar", meta={"pii": True}, config_meta={"masked": True}), "select email", "public", None),
    (col("email", "varchar", config_meta={"pii": True}),
     "select {{ mesh_macros.mask_email('backup_email') }} as b, email from t", "public", OWN),
    (col("email", "varchar", config_meta={"pii": True}), "select unmask_email(email) as email", "public", OWN),
    (col("email", "varchar", config_meta={"pii": True}), "select email from t", "protected", None),
])
def test_pii_marked_on_the_public_model(email: dict, raw_code: str, access: str, expected: Optional[str]) -> None:
    findings = check(product(access=access, columns=(KEY, email), raw_code=raw_code))
    assert messages(findings, "pii.exposed") == ([expected] if expected else [])


STG = model("stg_customers", access="private", folder="staging", raw_code="select id as customer_id, email from raw",
            columns=(col("customer_id"), col("email", None, config_meta={"pii": True}), col("segment", None)))
LINEAGE = "public model 'dim_customers' exposes personal-data column 'email' (from 'stg_customers') without masking"


@pytest.mark.parametrize("columns, raw_code, upstream, expected", [
    pytest.param(("customer_id", "email"), "select customer_id, email from {{ ref('stg_customers') }}", [STG],
                 [LINEAGE], id="upstream pii under the same name"),
    pytest.param(("customer_id", "EMAIL"), "select customer_id, email as EMAIL from {{ ref('stg_customers') }}",
                 [STG], [LINEAGE.replace("'email'", "'EMAIL'")], id="names compare case-insensitively"),
    pytest.param(("customer_id", "email"),
                 "select customer_id, {{ mesh_macros.mask_email('email') }} as email from {{ ref('stg_customers') }}",
                 [STG], [], id="masked with mesh_macros.mask_email"),
    pytest.param(("customer_id", "email_masked"),
                 "select customer_id, {{ mesh_macros.mask_email('email') }} as email_masked from s", [STG], [],
                 id="renamed when masked"),
    pytest.param(("customer_id", "segment"), "select customer_id, segment from s", [STG], [],
                 id="upstream column not pii"),
    pytest.param(("customer_id", "email"), "select customer_id, email from s", [], [],
                 id="upstream missing from the manifest"),
])
def test_pii_lineage(columns: tuple[str, ...], raw_code: str, upstream: list[dict], expected: list[str]) -> None:
    public = product(columns=tuple(col(c, "varchar", constraints=("primary_key",) if c == "customer_id" else ())
                                   for c in columns),
                     raw_code=raw_code, depends_on=("model.shop.stg_customers",))
    assert messages(check(public, *upstream), "pii.exposed") == expected


@pytest.mark.parametrize("int_code, expected", [
    ("select customer_id, email from {{ ref('stg_customers') }}",
     ["public model 'dim_customers' exposes personal-data column 'email' (from 'int_customers') without masking"]),
    ("select customer_id, {{ mesh_macros.mask_email('c.email') }} as email from {{ ref('stg_customers') }} as c",
     []),
])
def test_pii_lineage_through_an_intermediate_model(int_code: str, expected: list[str]) -> None:
    intermediate = model("int_customers", folder="intermediate", raw_code=int_code,
                         columns=(col("customer_id"), col("email")), depends_on=("model.shop.stg_customers",))
    public = product(columns=(KEY, col("email", "varchar")), raw_code="select customer_id, email from i",
                     depends_on=("model.shop.int_customers",))
    assert messages(check(public, intermediate, STG), "pii.exposed") == expected


def test_pii_from_a_source_and_from_another_domain() -> None:
    crm = source("crm", "customers", (col("phone", None, meta={"pii": True}),))
    theirs = model("dim_people", access="public", package="customers",
                   columns=(col("email", "varchar", tags=("pii",)),))
    public = product(columns=(KEY, col("email", "varchar"), col("phone", "varchar")),
                     raw_code="select customer_id, email, phone from x",
                     depends_on=("source.shop.crm.customers", "model.customers.dim_people"))
    assert messages(check(public, crm, theirs), "pii.exposed") == [
        "public model 'dim_customers' exposes personal-data column 'email' (from 'customers.dim_people') "
        "without masking",
        "public model 'dim_customers' exposes personal-data column 'phone' (from 'crm.customers') without masking",
    ]


def test_pii_points_at_the_sql_line_and_names_a_fix() -> None:
    raw_code = ("-- customers for marketing; the email is kept\nselect\n    customer_id,\n"
                "    lower(email) as email\nfrom {{ ref('stg_customers') }}\n")
    public = product(columns=(KEY, col("email", "varchar")), raw_code=raw_code,
                     depends_on=("model.shop.stg_customers",))
    [finding] = [f for f in check(public, STG) if f.rule == "pii.exposed"]
    assert (finding.file, finding.line) == (PROJECT / "models/marts/dim_customers.sql", 4)
    assert finding.fix == ("Mask 'email' with a mesh_macros.mask_* macro, e.g. {{ mesh_macros.mask_email('email') }}, "
                           "or drop it from 'dim_customers'.")


# --- naming.layer ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, access, sql_path, patterns, expected", [
    ("dim_customers", "public", "models/marts/dim_customers.sql", None, None),
    ("fct_orders", "public", "models/marts/fct_orders.sql", None, None),
    ("customers", "public", "models/marts/customers.sql", None, ("public", "^(fct|dim)_")),
    ("stg_customers", "public", "models/staging/stg_customers.sql", None, ("public", "^(fct|dim)_")),
    ("stg_orders", "private", "models/staging/stg_orders.sql", None, None),
    ("orders_clean", "private", "models/staging/orders_clean.sql", None, ("staging", "^stg_")),
    ("orders_clean", "private", "models/sales/staging/orders_clean.sql", None, ("staging", "^stg_")),
    ("orders_joined", "protected", "models/intermediate/orders_joined.sql", None, ("intermediate", "^int_")),
    ("int_orders", "protected", "models/intermediate/int_orders.sql", None, None),
    ("daily_sales", "protected", "models/marts/daily_sales.sql", None, None),          # marts: no layer
    ("daily_sales", "protected", "models/daily_sales.sql", None, None),
    ("staging", "protected", "models/staging.sql", None, None),                        # a file is not a folder
    ("daily_sales", "protected", "models/marts/daily_sales.sql", {"marts": "^mart_"}, ("marts", "^mart_")),
    ("customers", "public", "models/marts/customers.sql", {"marts": "^mart_"}, None),  # no public pattern
    ("src_orders", "protected", "models/staging/src_orders.sql", {"staging": "^src_"}, None),
    ("stg_orders", "protected", "models/staging/stg_orders.sql", {"staging": "^src_"}, ("staging", "^src_")),
])
def test_naming_layer(name: str, access: str, sql_path: str, patterns: Optional[dict[str, str]],
                      expected: Optional[tuple[str, str]]) -> None:
    governance = {"rules": {"naming.layer": {"patterns": patterns}}} if patterns else None
    findings = [f for f in check(product(name, access=access, sql_path=sql_path), governance=governance)
                if f.rule == "naming.layer"]
    if expected is None:
        assert findings == []
    else:
        layer, pattern = expected
        assert [(f.message, f.fix, f.file, f.line) for f in findings] == [(
            f"model '{name}' in layer '{layer}' does not match the naming pattern '{pattern}'",
            f"Rename '{name}' to match '{pattern}', the naming pattern of layer '{layer}'.",
            PROJECT / sql_path, None)]


# --- severities and exceptions from mesh.yml --------------------------------------------------------

@pytest.mark.parametrize("rules, domain, severity", [
    ({}, DOMAIN, "warn"),
    ({"contract.enforced": {"severity": "error"}}, DOMAIN, "error"),
    ({"contract.enforced": {"severity": "off"}}, DOMAIN, None),
    ({"contract.enforced": {"severity": "error", "domains": {"ops": "warn"}}}, DOMAIN, "error"),
    ({"contract.enforced": {"severity": "error", "domains": {"ops": "warn"}}}, "ops", "warn"),
    ({"contract.enforced": {"domains": {"ops": "off"}}}, "ops", None),
    ({"contract.enforced": {"domains": {"ops": "off"}}}, DOMAIN, "warn"),
    ({"docs.description": {"severity": "error"}}, DOMAIN, "warn"),   # another rule's setting
])
def test_severity_per_rule_and_domain(rules: dict, domain: str, severity: Optional[str]) -> None:
    node = product(enforced=False, package=domain, patch=f"{domain}://models/marts/_marts.yml")
    policy = Policy(Governance.model_validate({"rules": rules}))
    findings = check_manifest(domain, {"nodes": {node["unique_id"]: node}, "groups": {
        f"group.{domain}.core": {"owner": {"email": "core@shop.example"}}}}, PROJECT, policy)
    assert [(f.rule, f.severity, f.domain) for f in findings] == ([("contract.enforced", severity, domain)]
                                                                  if severity else [])


def test_an_exception_with_a_reason_turns_a_finding_off_for_that_model_only() -> None:
    governance = {"rules": {"pii.exposed": {"exceptions": [
        {"model": "shop.dim_customers", "reason": "Emails are the product: the CRM export team needs them."},
        {"model": "ops.dim_staff", "reason": "Another domain's model."}]}}}
    email = col("email", "varchar", meta={"pii": True})
    nodes = (product(columns=(KEY, email), raw_code="select customer_id, email", description=""),
             product("dim_staff", columns=(KEY, email), raw_code="select customer_id, email"))
    assert [(f.rule, f.model) for f in check(*nodes)] == [
        ("docs.description", "dim_customers"), ("pii.exposed", "dim_customers"), ("pii.exposed", "dim_staff")]
    assert [(f.rule, f.model) for f in check(*nodes, governance=governance)] == [
        ("docs.description", "dim_customers"), ("pii.exposed", "dim_staff")]


def test_an_exception_cannot_go_without_a_reason() -> None:
    with pytest.raises(ValueError):
        Governance.model_validate({"rules": {"pii.exposed": {"exceptions": [{"model": "shop.dim_customers"}]}}})


# --- versioned models -----------------------------------------------------------------------------

def _fct_orders(version: int, **overrides: Any) -> dict[str, Any]:
    return product("fct_orders", version=version, latest_version=2,
                   columns=(col("order_id", constraints=("primary_key",)),), **overrides)


def test_a_versioned_model_is_named_with_its_version() -> None:
    findings = check(_fct_orders(2, enforced=False), _fct_orders(1, enforced=False, description=""))
    assert [(f.rule, f.model, f.message, f.file) for f in findings] == [
        ("contract.enforced", "fct_orders", "public model 'fct_orders' v1 has no enforced contract",
         PROJECT / "models/marts/_marts.yml"),
        ("docs.description", "fct_orders", "public model 'fct_orders' v1 has no description",
         PROJECT / "models/marts/_marts.yml"),
        ("contract.enforced", "fct_orders", "public model 'fct_orders' v2 has no enforced contract",
         PROJECT / "models/marts/_marts.yml"),
    ]


def test_an_exception_covers_every_version() -> None:
    governance = {"rules": {"contract.enforced": {"exceptions": [
        {"model": "shop.fct_orders", "reason": "Contracted once the v3 migration lands."}]}}}
    findings = check(_fct_orders(1, enforced=False), _fct_orders(2, enforced=False), governance=governance)
    assert findings == []
    versioned_name = {"rules": {"contract.enforced": {"exceptions": [
        {"model": "shop.fct_orders_v1", "reason": "Not how exceptions name models."}]}}}
    assert len(check(_fct_orders(1, enforced=False), governance=versioned_name)) == 1


# --- messages, places, order ----------------------------------------------------------------------

@pytest.mark.parametrize("node, rule, message", [
    (product(enforced=False), "contract.enforced", "public model 'dim_customers' has no enforced contract"),
    (product(columns=(KEY, col("email", None))), "contract.data-types",
     "model 'dim_customers' has an enforced contract but column 'email' has no data_type"),
    (product(description=""), "docs.description", "public model 'dim_customers' has no description"),
    (product(group=None), "owner.group", "public model 'dim_customers' has no group"),
    (product(columns=(col("customer_id"),)), "model.primary-key", PK_MESSAGE),
    (product(columns=(KEY, col("email", "varchar", tags=("pii",))), raw_code="select customer_id, email"),
     "pii.exposed", OWN),
    (product("customers"), "naming.layer",
     "model 'customers' in layer 'public' does not match the naming pattern '^(fct|dim)_'"),
])
def test_each_rule_alone_with_its_exact_message(node: dict[str, Any], rule: str, message: str) -> None:
    assert [(f.rule, f.severity, f.domain, f.model, f.message) for f in check(node)] == [
        (rule, "warn", DOMAIN, node["name"], message)]


SCHEMA = """\
version: 2

sources:
  - name: crm
    tables:
      - name: dim_customers   # same name, not a model
models:
  - name: stg_customers
    columns:
      - name: dim_customers
  - name: dim_customers
    description: ""
    columns:
      - name: customer_id
"""


def test_yaml_rules_point_at_the_model_entry_and_sql_rules_at_the_sql(tmp_path: Path) -> None:
    (tmp_path / "models/marts").mkdir(parents=True)
    (tmp_path / "models/marts/_marts.yml").write_text(SCHEMA)
    nodes = (product(description="", columns=(col("customer_id"), col("email", "varchar", meta={"pii": True})),
                     raw_code="select\n  customer_id,\n  email\nfrom x"),
             product("customers"))
    places = [(f.rule, f.model, f.file, f.line) for f in check(*nodes, project_dir=tmp_path)]
    yml, sql = tmp_path / "models/marts/_marts.yml", tmp_path / "models/marts/dim_customers.sql"
    assert places == [
        ("naming.layer", "customers", tmp_path / "models/marts/customers.sql", None),
        ("docs.description", "dim_customers", yml, 11),
        ("model.primary-key", "dim_customers", yml, 11),
        ("pii.exposed", "dim_customers", sql, 3),
    ]


def test_a_model_declared_in_no_yaml_points_at_its_sql() -> None:
    [finding] = check(product(description="", patch=None))
    assert (finding.rule, finding.file, finding.line) == (
        "docs.description", PROJECT / "models/marts/dim_customers.sql", None)


def test_findings_are_ordered_by_model_rule_and_column() -> None:
    nodes = [product("fct_sales", enforced=False, description=""),
             product("dim_b", columns=(col("b", None), col("a", None), KEY)),
             product("dim_a", group=None, description="")]
    expected = [("dim_a", "docs.description", ""), ("dim_a", "owner.group", ""),
                ("dim_b", "contract.data-types", "a"), ("dim_b", "contract.data-types", "b"),
                ("fct_sales", "contract.enforced", ""), ("fct_sales", "docs.description", "")]
    for order in (nodes, nodes[::-1]):
        found = [(f.model, f.rule, f.message) for f in check(*order)]
        assert [(m, r) for m, r, _ in found] == [(m, r) for m, r, _ in expected]
        columns = [msg.split("column ")[-1].split("'")[1] for _, r, msg in found if r == "contract.data-types"]
        assert columns == ["a", "b"]


def test_only_the_domain_s_own_models_are_checked() -> None:
    theirs = model("orders", access="public", package="orders", description="")
    assert check(theirs) == []
    assert messages(check(theirs, domain="orders"), "docs.description") == ["public model 'orders' has no description"]


# --- a realistic domain -------------------------------------------------------------------------------

def _customers_domain(int_email: str) -> list[dict[str, Any]]:
    """The customers domain of the example mesh: personal data in staging, masked in intermediate."""
    stg = model("stg_customers", access="private", folder="staging", group="core",
                raw_code="select cast(id as integer) as customer_id, lower(trim(email)) as email from {{ ref('raw') }}",
                columns=(col("customer_id", None), col("email", None, config_meta={"pii": True})),
                depends_on=("seed.shop.raw_customers",))
    int_ = model("int_customers_enriched", folder="intermediate",
                 raw_code=(f"select c.customer_id, {int_email} as email_masked\n"
                           "from {{ ref('stg_customers') }} as c"),
                 columns=(col("customer_id", None), col("email_masked", None)), depends_on=(stg["unique_id"],))
    dim = product(raw_code=("select cast(customer_id as integer) as customer_id,\n"
                            "       cast(email_masked as varchar) as email_masked\n"
                            "from {{ ref('int_customers_enriched') }}"),
                  columns=(col("customer_id", constraints=("not_null", "primary_key")), col("email_masked", "varchar")),
                  depends_on=(int_["unique_id"],))
    return [stg, int_, dim, data_test(stg, "customer_id", "unique"), data_test(stg, "customer_id", "not_null"),
            data_test(dim, "customer_id", "unique")]


def test_a_well_governed_domain_has_no_findings() -> None:
    assert check(*_customers_domain("{{ mesh_macros.mask_email('c.email') }}")) == []


def test_the_same_domain_exposing_the_email_is_flagged() -> None:
    nodes = _customers_domain("c.email")
    nodes[2]["columns"]["email"] = col("email", "varchar")
    nodes[1]["columns"]["email"] = col("email", None)
    assert messages(check(*nodes)) == [
        "public model 'dim_customers' exposes personal-data column 'email' (from 'int_customers_enriched') "
        "without masking"]
