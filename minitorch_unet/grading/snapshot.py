"""A private copy of the course's code and reference data, taken before any learner code runs.

Learner processes import the engine and the checks from this copy, and the judge imports
the checks and reads the references from it, so nothing a submission writes into the
project can change a grade. Each file is read once: its SHA-256 is computed from the very
bytes that are copied, and :func:`verify` later compares the copy with those hashes, file
for file, with no file missing and none added (a planted ``.pyc`` counts as added).

This module uses only the standard library: the judge runs its source *before* importing
anything from the copy (see :mod:`.judge`).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

Hashes = dict[str, str]  # relative POSIX path -> SHA-256 hex digest


def _course_files(course_root: Path) -> list[Path]:
    """The package's files, ``data/reference/`` and the files directly in ``data/``."""
    package = [p for p in (course_root / "minitorch_unet").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    data = course_root / "data"
    reference = [p for p in (data / "reference").rglob("*") if p.is_file()]
    loose = [p for p in data.glob("*") if p.is_file()]
    return sorted(package + reference + loose)


def take(course_root: Path, dest: Path) -> Hashes:
    """Copy the course's files into `dest` (readable by all, writable by no one else)."""
    hashes: Hashes = {}
    for source in _course_files(course_root):
        relative = source.relative_to(course_root).as_posix()
        data = source.read_bytes()
        hashes[relative] = hashlib.sha256(data).hexdigest()
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o644)
    for folder, _, _ in os.walk(dest):
        os.chmod(folder, 0o755)
    return hashes


def hash_tree(root: Path) -> Hashes:
    """The SHA-256 of every file under `root` (a tree the grader wrote, e.g. a learner's
    copy of the course), to :func:`verify` it later."""
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


def verify(root: str | Path, hashes: Hashes) -> list[str]:
    """What differs between the copy at `root` and `hashes`: changed, missing or added files."""
    root = Path(root)
    present: set[str] = set()
    for folder, dirs, files in os.walk(root):
        here = Path(folder).relative_to(root)
        present.update((here / name).as_posix() for name in files)
        present.update((here / name).as_posix() for name in dirs if os.path.islink(Path(folder, name)))
    problems = [f"added: {name}" for name in sorted(present - set(hashes))]
    for name, digest in sorted(hashes.items()):
        if name not in present:
            problems.append(f"missing: {name}")
        elif hashlib.sha256((root / name).read_bytes()).hexdigest() != digest:
            problems.append(f"changed: {name}")
    return problems
