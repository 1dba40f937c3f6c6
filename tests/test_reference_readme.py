"""data/reference/README.md gives the number of cases of every reference file; it must match
the files."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"
ROWS = re.findall(r"^\| `(\w+\.npz)` \| (\d+) \|", (REFERENCE / "README.md").read_text(), re.M)


def test_the_readme_lists_every_file() -> None:
    assert sorted(name for name, _ in ROWS) == sorted(p.name for p in REFERENCE.glob("*.npz"))


@pytest.mark.parametrize("name, count", ROWS, ids=[name for name, _ in ROWS])
def test_the_readme_counts_the_cases(name: str, count: str) -> None:
    with np.load(REFERENCE / name) as data:
        cases = sum(key.endswith("/params") for key in data.files)
    assert cases == int(count), \
        f"data/reference/README.md says {name} holds {count} cases, it holds {cases}"
