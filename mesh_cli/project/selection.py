"""dbt's selection words across the mesh: over domains (`orders+`) and over models (`orders.fct_orders+`).

A domain word picks whole domains on the domain graph. A model word (`domain.model`, or
`domain.model.vN` for one version) walks the model graph across domains, read from each domain's
newest manifest, and picks, in each domain it reaches, just the models it needs: those become the
`--select` of that domain's `dbt build`. Parsing and resolving are pure: they take the graphs."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Protocol

import networkx as nx

from mesh_cli.core.errors import InvalidSelectorError, SelectionNotParsedError, UnknownSelectedModelError



class DomainGraph(Protocol):
    """What selection needs of the domain graph (project.graph.MeshGraph, which parses its
    words with this module, so this module does not import it)."""

    @property
    def domains(self) -> list[str]: ...

    def order(self) -> list[str]: ...

    def expand(self, word: "Word") -> set[str]: ...

    def select(self, select: Iterable[str], exclude: Iterable[str]) -> list[str]: ...

_WORD = re.compile(r"^(?P<at>@)?(?P<up>\d*\+)?(?P<name>[^+@]+)(?P<down>\+\d*)?$")


@dataclass(frozen=True)
class Word:
    """One selection word. `up`/`down`: 0 walks nothing, None walks all the way, N walks N hops."""

    text: str
    name: str                  # `domain` or `domain.model[.vN]`
    up: Optional[int] = 0
    down: Optional[int] = 0
    at: bool = False           # dbt's `@`: the node, its descendants and all their ancestors

    @property
    def domain(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def is_model(self) -> bool:
        return "." in self.name


def _depth(op: Optional[str]) -> Optional[int]:
    if not op:
        return 0
    digits = op.strip("+")
    return int(digits) if digits else None


def parse_word(text: str) -> Word:
    m = _WORD.match(text)
    if m is None or (m["at"] and (m["up"] or m["down"])) or "" in m["name"].split("."):
        raise InvalidSelectorError(text)
    return Word(text, m["name"], _depth(m["up"]), _depth(m["down"]), bool(m["at"]))


def parse_words(values: Iterable[str]) -> list[Word]:
    """Words separated by spaces or commas, from an option that may also be repeated."""
    return [parse_word(w) for v in values for w in v.replace(",", " ").split()]


def expand(graph: nx.DiGraph, node: str, word: Word) -> set[str]:
    """The nodes `word`'s operators pick around `node`, on either graph (domains or models)."""
    if word.at:
        down = {node, *nx.descendants(graph, node)}
        return down.union(*(nx.ancestors(graph, n) for n in down))
    chosen = {node}
    if word.up != 0:
        chosen |= set(nx.single_source_shortest_path_length(graph.reverse(copy=False), node, cutoff=word.up))
    if word.down != 0:
        chosen |= set(nx.single_source_shortest_path_length(graph, node, cutoff=word.down))
    return chosen


@dataclass
class Selection:
    """What a build of the selection runs: the domains in build order and, per domain, the keys of
    the model graph it selects in build order, or None for the whole domain (no dbt --select)."""

    domains: list[str]
    nodes: dict[str, Optional[list[str]]]
    # Only when a model word was given: per domain, what dbt builds (models, seeds, snapshots; not
    # sources) in build order; None for a whole domain never parsed, whose models are unknown.
    builds: Optional[dict[str, Optional[list[str]]]] = None


def _roots(models: nx.DiGraph, word: Word, option: str) -> list[str]:
    """The model-graph keys a model word names; a versioned model without a version means all its versions."""
    if word.name in models:
        return [word.name]
    versions = sorted(k for k, v in models.nodes(data="version") if v is not None and k.rsplit(".", 1)[0] == word.name)
    if versions:
        return versions
    names = {*models, *(k.rsplit(".", 1)[0] for k, v in models.nodes(data="version") if v is not None)}
    # Compared without the domain, which every candidate shares and which would make any name look close.
    prefix = f"{word.domain}."
    own = sorted(n.removeprefix(prefix) for n in names if n.startswith(prefix))
    close = difflib.get_close_matches(word.name.removeprefix(prefix), own, n=3, cutoff=0.6)
    raise UnknownSelectedModelError(word.text, option, word.name, [prefix + c for c in close])


def _model_nodes(domains: DomainGraph, models: nx.DiGraph, missing: list[str], word: Word, option: str) -> set[str]:
    # The model graph of a domain comes from its manifest: every domain the word may reach needs one,
    # or the walk would silently stop at it. Its domain-level twin names those domains.
    unparsed = sorted(domains.expand(word) & set(missing))
    if unparsed:
        raise SelectionNotParsedError(word.text, option, unparsed)
    return set().union(*(expand(models, root, word) for root in _roots(models, word, option)))


def resolve(domains: DomainGraph, models: Optional[nx.DiGraph], missing: list[str],
            select: Iterable[str] = (), exclude: Iterable[str] = ()) -> Selection:
    """Resolve --select/--exclude words. `models` (keys `domain.model[.vN]`, attributes `domain`,
    `version`, `kind`) is only read when a model word is given; `missing` lists the domains it lacks."""
    chosen, removed = parse_words(select), parse_words(exclude)
    if not any(w.is_model for w in (*chosen, *removed)):
        names = domains.select(select, exclude)
        return Selection(names, {d: None for d in names})
    assert models is not None, "model words need the model graph"
    whole: set[str] = set() if chosen else set(domains.domains)
    picked: set[str] = set()
    for word in chosen:
        if word.is_model:
            picked |= _model_nodes(domains, models, missing, word, "--select")
        else:
            whole |= domains.expand(word)
    dropped_domains: set[str] = set()
    dropped: set[str] = set()
    for word in removed:
        if word.is_model:
            dropped |= _model_nodes(domains, models, missing, word, "--exclude")
        else:
            dropped_domains |= domains.expand(word)
    order = list(nx.lexicographical_topological_sort(models))
    own: dict[str, list[str]] = {d: [] for d in domains.domains}
    for key in order:
        own.setdefault(models.nodes[key]["domain"], []).append(key)
    cut = {models.nodes[k]["domain"] for k in dropped}
    nodes: dict[str, Optional[list[str]]] = {}
    for d in domains.order():
        if d in dropped_domains:
            continue
        if d in whole and d not in cut:
            nodes[d] = None
            continue
        keep = (set(own[d]) if d in whole else picked) - dropped
        if any(k in keep for k in own[d]):
            nodes[d] = [k for k in own[d] if k in keep]
    builds = {d: None if keys is None and d in missing else
              [k for k in (own[d] if keys is None else keys) if models.nodes[k].get("kind") != "source"]
              for d, keys in nodes.items()}
    return Selection(list(nodes), nodes, builds)


def dbt_selector(node: dict[str, Any]) -> str:
    """How dbt selects exactly this node inside its own project: its full `fqn` (`core.dim_people.v1`
    for a version; a bare name would also match an installed package's node). An upstream's injected
    node it may also match is never run by dbt. Sources are not in dbt's fqn method."""
    if node.get("resource_type") == "source":
        return f"source:{node['package_name']}.{node['source_name']}.{node['name']}"
    return ".".join(node["fqn"])
