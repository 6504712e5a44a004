"""Reading the project's and the user's TOML files (targets, declarations, deviation registers, rules):
every problem is one ConfigError that names the file and what it was meant to be."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import ConfigError


def read_toml(path: Path, what: str, *, shown: str | None = None, missing: str | None = None) -> dict:
    """`path` as a dict. `what` names the file in errors ("target file"); `shown` is the path as the
    user should see it (default: as given); `missing` is the message for a file that is not there
    (default: the "cannot read" one)."""
    shown = str(path) if shown is None else shown
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"{shown}: {missing}" if missing else f"{shown}: cannot read the {what}: {exc.strerror}") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read the {what}: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: the {what} is not UTF-8 text (byte {exc.start}); expected TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: the {what} is not valid TOML: {exc}") from None
