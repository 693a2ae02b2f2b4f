"""Where fupin finds its project, raw files and warehouse: paths and environment variables.

Free of Dagster and dbt imports, so `fupin run` can decide there is nothing to do, and the other
commands start, without paying for them; pipelines/resources.py builds the Dagster resources on it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

RAW_DIR_ENV = "FUPIN_RAW_DIR"
WAREHOUSE_ENV = "FUPIN_WAREHOUSE"
DBT_DATABASE_ENV = "FUPIN_DBT_DATABASE"
ALLOW_SHRINK_ENV = "FUPIN_ALLOW_SHRINK"  # "1": publish even when most published documents would go
MAX_SHRINK_ENV = "FUPIN_MAX_SHRINK"  # share of the published documents one run may remove (0-1)
DEFAULT_RAW_DIR = "raw"  # relative to the project root


def resolve_path(value: str | os.PathLike[str]) -> Path:
    """Relative paths are relative to the project root, so runs do not depend on the CWD."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def parse_share(value: str | float, where: str) -> float:
    """A share between 0 and 1 ("0.5", "50%"); ValueError naming where it came from otherwise."""
    text = str(value).strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a share between 0 and 1 (e.g. 0.5 or 50%)") from None
    if not 0 <= share <= 1:
        raise ValueError(f"{where}: {value!r} is not a share between 0 and 1 (e.g. 0.5 or 50%)")
    return share


def dbt_executable() -> str:
    """The dbt next to this Python (the venv's), so runs work without an activated venv."""
    beside = Path(sys.executable).parent / "dbt"
    return os.fspath(beside) if beside.exists() else (shutil.which("dbt") or "dbt")
