"""Versions derived from source code, so a change to a stage's code re-runs that stage by itself.

A hand-kept version number is forgotten sooner or later; a hash of the modules that decide a stage's
output is not. The incremental pipeline re-cleans or re-extracts a document when its version differs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import schemas

_HERE = Path(__file__).resolve().parent
_SCHEMAS = Path(schemas.__file__).resolve().parent


def source_version(*module_names: str, data_files: tuple[str, ...] = ()) -> str:
    """A short hash of the named modules of pipelines/core (e.g. "extract") and files of schemas/."""
    digest = hashlib.sha256()
    for path in [*(_HERE / f"{name}.py" for name in module_names), *(_SCHEMAS / name for name in data_files)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
