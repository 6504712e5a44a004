"""Where duisconf finds DCC's npm data packages, its own data folders and its state.

DCC's packages are GPL-3.0-or-later: they are installed with `npm ci` beside the project and read at
run time, never copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError, DataPackageMissing

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def shown(path: Path) -> str:
    """A path as a user recognises it in a message: relative to the project when it lives there."""
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)

KEYSTORE_PACKAGE = "@smartdcc/dccboxed-keystore"
TEMPLATES_PACKAGE = "@smartdcc/duis-templates"
PARSER_PACKAGE = "@smartdcc/duis-parser"
SIGN_WRAP_PACKAGE = "@smartdcc/duis-sign-wrap"


def node_modules() -> Path:
    """The node_modules folder holding DCC's packages: $DUISCONF_NODE_MODULES, else the project's."""
    env = os.environ.get("DUISCONF_NODE_MODULES")
    return Path(env) if env else PROJECT_ROOT / "node_modules"


def package_file(package: str, relative: str) -> Path:
    """A file inside an installed npm package, or a DataPackageMissing error saying how to install it."""
    path = node_modules() / package / relative
    if not path.exists():
        raise DataPackageMissing(
            f"{package} is not installed: {path} does not exist "
            f"(run `npm ci` in {PROJECT_ROOT}, or set DUISCONF_NODE_MODULES)"
        )
    return path


def keystore_json() -> Path:
    return package_file(KEYSTORE_PACKAGE, "keystore.json")


def signing_tool_jar() -> Path:
    return package_file(SIGN_WRAP_PACKAGE, "dist/tool.jar")


def request_matrix_json() -> Path:
    return package_file(PARSER_PACKAGE, "dist/duis-request-matrix.json")


def rtds_templates_dir() -> Path:
    return package_file(TEMPLATES_PACKAGE, "templates")


def rules_dir() -> Path:
    return Path(os.environ.get("DUISCONF_RULES", PROJECT_ROOT / "rules"))


def templates_dir() -> Path:
    return Path(os.environ.get("DUISCONF_TEMPLATES", PROJECT_ROOT / "templates"))


def cache_dir() -> Path:
    """Derived files (extracted XSDs); safe to delete."""
    base = os.environ.get("DUISCONF_CACHE") or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    path = Path(base) / "duisconf" if "DUISCONF_CACHE" not in os.environ else Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_dir(create: bool = True) -> Path:
    """Durable state that must survive runs (originator counters). Never delete while a kit remembers us.

    A directory that cannot be created (a file in the way, a read-only or full file system) is a one-line
    ConfigError naming it; ``create=False`` only says where it is."""
    env = os.environ.get("DUISCONF_STATE_DIR")
    if env:
        path = Path(env)
    else:
        base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
        path = Path(base) / "duisconf"
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = "a file is in the way" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror or exc
            raise ConfigError(f"cannot create the state directory {path}: {reason} "
                              "(set DUISCONF_STATE_DIR to a writable directory)") from None
    return path
