"""Package folders of upstream domains that a consumer also installs as local packages.

A mesh written for dbt Cloud and dbt Core alike declares its upstream under `projects:` in
dependencies.yml (dbt Cloud's cross-project ref) and installs it with `- local: ../upstream` in
packages.yml (dbt Core's fallback, which builds the upstream's models again inside the consumer).
Under mesh the upstream is a domain of its own, so dbt must not see its models twice: the
package's folder in the consumer's packages install path holds a stub project of the same name
with no nodes. dbt's check that every package of packages.yml is installed still holds, the
plugin's nodes for the upstream are then injected (dbt injects none where a package already
defines that node), and the user's files are never edited. `dbt deps` puts the full package back
for a plain dbt Core build."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterable, Optional

from mesh_cli.core.yamlfile import read_yaml

MARK = "# Written by mesh:"
STUB = MARK + """ '{name}' is a domain of this mesh, built on its own and read through cross-domain refs.
# Its package folder is empty here so that this project does not build its models again;
# `dbt deps` installs the full package back for a plain dbt Core build.
name: {name}
config-version: 2
"""


def _project_name(folder: Path) -> Optional[str]:
    try:
        data = read_yaml(folder / "dbt_project.yml")
    except Exception:  # noqa: BLE001 - an unreadable folder is not one of ours to replace
        return None
    return str(data["name"]) if isinstance(data, dict) and data.get("name") else None


def is_stub(folder: Path) -> bool:
    project = folder / "dbt_project.yml"
    return not folder.is_symlink() and project.is_file() and project.read_text(encoding="utf-8").startswith(MARK)


def stub_domain_packages(install_dir: Path, names: Iterable[str]) -> list[str]:
    """Make each package of `names` in `install_dir` a stub; the names replaced this time."""
    wanted = set(names)
    if not wanted:
        return []
    install_dir.mkdir(parents=True, exist_ok=True)
    found = {name: child for child in sorted(install_dir.iterdir())
             if child.is_dir() and (name := _project_name(child)) in wanted}
    replaced = []
    for name in sorted(wanted):
        folder = found.get(name, install_dir / name)
        if is_stub(folder):
            continue
        if folder.is_symlink():      # how `dbt deps` installs a local package
            folder.unlink()
        elif folder.is_dir():        # a copy, where symlinks are not available
            shutil.rmtree(folder)
        folder.mkdir()
        (folder / "dbt_project.yml").write_text(STUB.format(name=name), encoding="utf-8")
        replaced.append(name)
    return replaced
