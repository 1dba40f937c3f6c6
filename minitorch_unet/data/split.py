"""Split patients (never slices) into train / validation / test sets."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def patient_split(patient_ids: Iterable[str], val: float = 0.1, test: float = 0.1,
                  seed: int = 0) -> dict[str, list[str]]:
    """Shuffle the unique patient ids with ``seed`` and cut them into disjoint sets.

    Returns {"train": [...], "val": [...], "test": [...]}, each sorted. ``val`` and ``test``
    are fractions of the patients, rounded; with 3 or more patients a non-zero fraction gets
    at least one patient (4 patients -> 2 / 1 / 1). The result depends only on the set of
    ids and the seed, not on their order, so ``slice_set.patients`` may be passed directly.
    """
    ids = sorted(set(patient_ids))
    if not ids:
        raise ValueError("patient_split needs at least one patient id")
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val and test must be fractions in [0, 1) with val + test < 1, "
                         f"got val={val}, test={test}")
    count = len(ids)
    n_val, n_test = round(val * count), round(test * count)
    if count >= 3:
        n_val = max(n_val, 1) if val > 0 else 0
        n_test = max(n_test, 1) if test > 0 else 0
    if n_val + n_test >= count:
        raise ValueError(f"{count} patients are too few for val={val}, test={test} "
                         "with at least one training patient")
    order = [ids[i] for i in np.random.default_rng(seed).permutation(count)]
    return {"train": sorted(order[n_val + n_test:]),
            "val": sorted(order[n_test:n_test + n_val]),
            "test": sorted(order[:n_test])}
