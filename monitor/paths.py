"""Where bundled data lives: next to the package in a checkout, inside it in a wheel."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def _bundled(name: str) -> Path:
    # A checkout (or editable install) has the top-level folder; a wheel carries a copy
    # under monitor/_bundled/ (see [tool.hatch.build.targets.wheel.force-include]).
    top = PROJECT_DIR / name
    if top.is_dir():
        return top
    return PACKAGE_DIR / "_bundled" / name


def templates_dir() -> Path:
    return _bundled("templates")


def seeds_dir() -> Path:
    return _bundled("seeds")


def default_config_path() -> Path:
    return Path("config/monitor.toml")
