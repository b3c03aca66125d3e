"""Edits to a mesh's mesh.yml that keep every comment and the file's own layout: `mesh new-domain`
adds the new domain's owner under `domains:`."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, Optional

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError as RoundTripError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from mesh_cli.core.yamlfile import read_yaml


def yaml_scalar(value: str) -> str:
    """A YAML-safe scalar: plain when YAML reads it back unchanged, else a JSON string (valid YAML
    whatever it holds: ':', '#', quotes)."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.@+-]*", value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def with_owner(config_file: Path, name: str, team: str, email: str) -> Optional[str]:
    """mesh.yml with `domains.<name>.owner` added; None when the file's layout is not one this can
    extend safely. ruamel.yaml's parse says where the domains: mapping ends, and its emitter writes
    the new entry there; every other byte stays as it was, comments included (a round-trip dump
    would re-indent block scalars). The result is verified by parsing it."""
    text = config_file.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text += "\n"
    before = read_yaml(config_file) or {}
    try:
        result = _extended(text, YAML().compose(text), name, _owner_entry(name, team, email))
    except RoundTripError:
        return None
    if result is None:
        return None
    expected = {**before, "domains": {**(before.get("domains") or {}), name: {"owner": {"team": team, "email": email}}}}
    try:
        return result if yaml.safe_load(result) == expected else None
    except yaml.YAMLError:
        return None


def _extended(text: str, root: Optional[Node], name: str, entry: dict[str, Any]) -> Optional[str]:
    if root is not None and (not isinstance(root, MappingNode) or root.flow_style):
        return None
    found = [(k, v) for k, v in (root.value if root is not None else []) if k.value == "domains"]
    if not found:  # no domains: section yet (or an empty file): it goes at the end
        return text + _block({"domains": entry}, 2)
    (key, value), lines = found[0], text.splitlines(keepends=True)
    if value.start_mark.index < key.end_mark.index:  # `domains: *alias`
        return None
    empty = value.tag == "tag:yaml.org,2002:null" or isinstance(value, MappingNode) and not value.value
    if empty and (value.end_mark.line == key.start_mark.line or _elsewhere(key, value)):
        line = key.start_mark.line  # `domains: {}` or `domains:`: that line is replaced
        return "".join(lines[:line]) + _block({"domains": entry}, 2) + "".join(lines[line + 1:])
    if not isinstance(value, MappingNode) or value.flow_style or any(k.value == name for k, _ in value.value):
        return None
    indent = value.value[0][0].start_mark.column  # the file's own indentation, as its first domain shows it
    at = _end_line(value, lines)
    if at <= value.value[-1][0].start_mark.line:
        return None
    return "".join(lines[:at]) + _block(entry, indent, indent) + "".join(lines[at:])


def _end_line(node: Node, lines: list[str]) -> int:
    """The index of the line after the last one holding `node`'s text. A block collection's own end
    mark is at the next token, past any comments, so it ends where its last value does."""
    key: Optional[Node] = None
    while isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and not _elsewhere(key, node):
        key, node = node.value[-1] if isinstance(node, MappingNode) else (None, node.value[-1])
    mark = key.end_mark if key is not None and _elsewhere(key, node) else node.end_mark
    at = mark.line + (mark.column > 0)
    while at > 0 and not lines[at - 1].strip():  # a block scalar's end mark is past its trailing blank lines
        at -= 1
    return at


def _elsewhere(key: Optional[Node], value: Node) -> bool:
    """Whether `value` has no text of its own after `key`: `ops:` with nothing (its marks are at
    the next token), or an alias `*name` (the node is the anchored one, earlier in the file)."""
    if key is None:
        return False
    return value.start_mark.index == value.end_mark.index or value.start_mark.index < key.end_mark.index


def _owner_entry(name: str, team: str, email: str) -> dict[str, Any]:
    """`name: {owner: {team: ..., email: ...}}`, each value quoted where _yaml_scalar would quote it."""
    owner = CommentedMap((k, v if yaml_scalar(v) == v else DoubleQuotedScalarString(v))
                         for k, v in (("team", team), ("email", email)))
    owner.fa.set_flow_style()
    return {name: {"owner": owner}}


def _block(data: dict[str, Any], indent: int, shift: int = 0) -> str:
    """`data` as block YAML, `indent` spaces a level, each line moved right by `shift` spaces."""
    out = io.StringIO()
    writer = YAML()
    writer.indent(mapping=indent)
    writer.width = 4096  # keep a long owner on one line
    writer.dump(data, out)
    return "".join(" " * shift + line for line in out.getvalue().splitlines(keepends=True))
