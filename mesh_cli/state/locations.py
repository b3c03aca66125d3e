"""Where published state lives: a folder (or file:// URL), a static web server (http(s)://, read
only) or an object store through fsspec (s3://, gs://, az://, memory://; each an optional extra).

A location reads and writes bytes at paths relative to its base. Reads tell "not there" (None)
from "cannot reach it" (LocationUnreachable), which the callers turn into different errors."""
from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Optional, Protocol

from mesh_cli.core.errors import MissingExtraError
from mesh_cli.state.staging import swap_folder

HTTP_TIMEOUT = 10.0   # seconds: a dead server must not hang a build
# fsspec's protocol -> (the extra of mesh-cli that installs it, the package)
_EXTRAS = {"s3": ("s3", "s3fs"), "s3a": ("s3", "s3fs"), "gs": ("gcs", "gcsfs"), "gcs": ("gcs", "gcsfs"),
           "az": ("azure", "adlfs"), "abfs": ("azure", "adlfs"), "abfss": ("azure", "adlfs")}


class LocationUnreachable(Exception):
    """The location itself cannot be reached (no such folder, connection refused, HTTP 5xx)."""


class Location(Protocol):
    url: str

    def read(self, path: str) -> Optional[bytes]: ...
    def write_all(self, files: dict[str, bytes], folder: str) -> None: ...
    def write(self, path: str, data: bytes) -> None: ...
    def can_write(self) -> bool: ...


class FolderLocation:
    def __init__(self, base: Path, url: str) -> None:
        self.base, self.url = base, url

    def read(self, path: str) -> Optional[bytes]:
        if not self.base.is_dir():
            raise LocationUnreachable("no such folder")
        file = self.base / path
        try:
            return file.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LocationUnreachable(exc.strerror or str(exc)) from exc

    def can_write(self) -> bool:
        return True

    def write_all(self, files: dict[str, bytes], folder: str) -> None:
        """`files` (paths inside `folder`) appear at once: written into a hidden folder beside it,
        then renamed into place, so a reader sees the old folder or the new one, never half."""
        final = self.base / folder
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
        try:
            for rel, data in files.items():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                (tmp / rel).write_bytes(data)
            swap_folder(tmp, final)   # the same build published again replaces its copy whole
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def write(self, path: str, data: bytes) -> None:
        """One file, replaced atomically (written beside it, then renamed over it)."""
        final = self.base / path
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)


class HttpLocation:
    """Any static web server: GET only."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def read(self, path: str) -> Optional[bytes]:
        try:
            with urllib.request.urlopen(f"{self.url}/{urllib.parse.quote(path)}", timeout=HTTP_TIMEOUT) as reply:
                return reply.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (403, 404):   # object stores served over HTTP answer 403 for a missing key
                return None
            raise LocationUnreachable(f"HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise LocationUnreachable(str(getattr(reason, "strerror", None) or reason)) from exc

    def can_write(self) -> bool:
        return False

    def write_all(self, files: dict[str, bytes], folder: str) -> None:
        raise NotImplementedError

    def write(self, path: str, data: bytes) -> None:
        raise NotImplementedError


class FsspecLocation:
    """An object store. Each object is written whole by the store, so a build's files are written
    first and the pointer to them last: a reader following the pointer finds them complete."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        protocol = url.split("://", 1)[0]
        try:
            import fsspec
        except ImportError as exc:
            extra, package = _EXTRAS.get(protocol, ("fsspec", "fsspec"))
            raise MissingExtraError(protocol, extra, "fsspec" if extra == "fsspec" else f"fsspec and {package}") from exc
        try:
            self.fs = fsspec.filesystem(protocol)
        except ImportError as exc:
            extra, package = _EXTRAS.get(protocol, ("fsspec", protocol))
            raise MissingExtraError(protocol, extra, package) from exc
        except ValueError as exc:   # a protocol fsspec does not know
            raise LocationUnreachable(str(exc)) from exc

    def read(self, path: str) -> Optional[bytes]:
        try:
            return self.fs.cat_file(f"{self.url}/{path}")
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - each store raises its own errors for a dead endpoint
            raise LocationUnreachable(f"{exc.__class__.__name__}: {exc}") from exc

    def can_write(self) -> bool:
        return True

    def write_all(self, files: dict[str, bytes], folder: str) -> None:
        for rel, data in files.items():
            self.write(f"{folder}/{rel}", data)

    def write(self, path: str, data: bytes) -> None:
        self.fs.pipe_file(f"{self.url}/{path}", data)


def open_location(text: str, base: Path) -> Location:
    """The location `text` names; a relative folder is relative to `base` (the file naming it)."""
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("http", "https"):
        return HttpLocation(text)
    if scheme == "file":
        path = urllib.parse.unquote(urllib.parse.urlparse(text).path)
        return FolderLocation(Path(path), text)
    if scheme:
        return FsspecLocation(text)
    path = Path(text).expanduser()
    return FolderLocation(path if path.is_absolute() else (base / path).resolve(), text)
