"""A memo of the last `mesh build --changed` that found nothing to build, so that the next identical
command answers from file metadata alone, before mesh imports anything.

A no-op loads the mesh, hashes every domain's files and compares them with what each last good build
recorded; on a 2-core machine that is about a second, most of it imports. Its answer depends only on
the command line, the environment, the files it opened and the directories it listed. An audit hook
(PEP 578) sees every open and every listing, so nothing is left out by hand; the memo keeps each
one's stat() and what the command printed. When every stat still matches, the entry point prints it
again. An edit changes a file's mtime and ctime; an added or removed file changes its directory's.
Each stat() is taken when the file is first opened, so an edit during the run shows next time. An
entry whose times are not safely older than the run is never trusted (git guards its index the same
way): an edit within the filesystem's timestamp granularity would not show.

Standard library only: the entry point reads it before any other import."""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from mesh_cli import __version__
from mesh_cli.core.layout import Layout

FORMAT = 2   # 2: the environment as a digest
# An entry changed later than this before the watched run started is never trusted: an edit in the
# same tick of the filesystem's clock would leave its times as they were. FAT's tick is 2 s.
_SAFE_NS = 2_000_000_000
# Every variable counts (a profile may read any with env_var()) except those a shell changes from
# one command to the next without meaning anything to mesh.
_ENV_IGNORED = {"_", "OLDPWD", "PWD", "SHLVL", "COLUMNS", "LINES"}

_watch: dict[str, Any] = {}


def key(argv: Sequence[str], cwd: str, env: dict[str, str], tty: bool) -> dict[str, Any]:
    """Everything besides files that an identical command must share. The environment is kept as a
    digest only: it holds passwords (MESH_PG_PASSWORD_<DOMAIN>, PGPASSWORD), which mesh never writes."""
    chosen = sorted((k, v) for k, v in env.items() if k not in _ENV_IGNORED)
    digest = hashlib.sha256(json.dumps(chosen).encode()).hexdigest()
    return {"argv": list(argv), "cwd": cwd, "env_sha256": digest, "tty": tty,
            "python": sys.executable, "mesh": __version__}


def project_root(argv: Sequence[str], cwd: str) -> Path:
    """The mesh a `mesh build` command line names (`--project-dir`, else the current folder)."""
    folder = "."
    for i, word in enumerate(argv):
        if word == "--project-dir" and i + 1 < len(argv):
            folder = argv[i + 1]
        elif word.startswith("--project-dir="):
            folder = word.split("=", 1)[1]
    return Path(cwd, folder).resolve()


def _stat(path: str) -> Optional[list[int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_dev]


def replay(argv: Sequence[str], cwd: str, env: dict[str, str], tty: bool) -> Optional[str]:
    """What the memo says to print, when it is the same command and no input changed; else None."""
    memo = Layout(project_root(argv, cwd)).noop_memo
    try:
        data = json.loads(memo.read_text(encoding="utf-8"))
        if data["format"] != FORMAT or data["key"] != key(argv, cwd, env, tty):
            return None
        trusted_before = data["started_ns"] - _SAFE_NS
        for path, recorded in data["entries"]:
            now = _stat(path)
            if now != recorded or (now is not None and max(now[0], now[1]) > trusted_before):
                return None
        return str(data["stdout"])
    except (OSError, ValueError, KeyError, TypeError):
        return None   # no memo, or one this version cannot read: the command runs in full


def _note(path: Any, into: str) -> None:
    if isinstance(path, (str, bytes, os.PathLike)):
        name = os.path.abspath(os.fsdecode(path))
        seen = _watch["seen"]
        if name not in seen:   # stat() before the read: a change after it shows next time
            seen[name] = _stat(name)
        if into == "file" and (parent := os.path.dirname(name)) not in seen:
            seen[parent] = _stat(parent)   # a file added beside it, that this run may have looked for


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _watch.get("on"):
        return
    if event == "open":
        path, mode, flags = args
        reading = ("r" in mode and "+" not in mode) if isinstance(mode, str) else \
            not (flags or 0) & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        if reading:
            _note(path, "file")
    elif event in ("os.listdir", "os.scandir"):
        _note(args[0] if args and args[0] is not None else ".", "dir")


def watch(argv: Sequence[str], cwd: str, env: dict[str, str], tty: bool) -> None:
    """From now on, note every file this process opens to read and every folder it lists."""
    if "hooked" not in _watch:
        sys.addaudithook(_hook)   # cannot be removed: stop() makes it inert
        _watch["hooked"] = True
    root = project_root(argv, cwd)
    _watch.update(on=False, key=key(argv, cwd, env, tty), root=root, seen={}, started_ns=time.time_ns())
    _watch["seen"][str(root)] = _stat(str(root))
    _watch["on"] = True


def stop() -> None:
    _watch["on"] = False


def record(root: Path, stdout: str) -> bool:
    """Keep what a watched no-op read and printed, for the next identical command. False (nothing
    kept) when this process was not watched from its start, or watched another mesh."""
    if not _watch.get("on") or _watch["root"] != root.resolve():
        return False
    stop()
    memo = Layout(root.resolve()).noop_memo
    entries = [[p, st] for p, st in sorted(_watch["seen"].items()) if p != str(memo)]
    data = {"format": FORMAT, "key": _watch["key"], "started_ns": _watch["started_ns"], "stdout": stdout,
            "entries": entries}
    try:
        # Written over in place, not renamed into place: a rename would change the folder's mtime,
        # which the memo may hold. A memo cut short is no JSON, and then not read.
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(json.dumps(data), encoding="utf-8")
    except OSError:
        return False   # a memo is only a shortcut: without it the next no-op runs in full
    return True
