"""Split patients (never slices) into train / validation / test sets."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def patient_split(patient_ids: Iterable[str], val: float = 0.1, test: float = 0.1,
                  seed: int = 0) -> dict[str, list[str]]:
    """Shuffle the unique patient ids with ``seed`` and cut them into disjoint sets.

    Returns {"train": [...], "val": [...], "test": [...]}, each sorted. ``val`` and ``test``
    are fractions of the patients, rounded; a non-zero fraction gets at least one patient
    (4 patients -> 2 / 1 / 1), and too few patients for that raise ValueError. The result depends only on the set of
    ids and the seed, not on their order, so ``slice_set.patients`` may be passed directly.
    """
    ids = sorted(set(patient_ids))
    if not ids:
        raise ValueError("patient_split needs at least one patient id")
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val and test must be fractions in [0, 1) with val + test < 1, "
                         f"got val={val}, test={test}")
    count = len(ids)
    n_val = max(round(val * count), 1) if val > 0 else 0
    n_test = max(round(test * count), 1) if test > 0 else 0
    if n_val + n_test >= count:
        raise ValueError(f"{count} patient{'s are' if count > 1 else ' is'} too few for "
                         f"val={val}, test={test}: {n_val} to validate and {n_test} to test "
                         f"leave none to train on; at least {n_val + n_test + 1} are needed")
    order = [ids[i] for i in np.random.default_rng(seed).permutation(count)]
    return {"train": sorted(order[n_val + n_test:]),
            "val": sorted(order[n_test:n_test + n_val]),
            "test": sorted(order[:n_test])}


def patient_folds(patient_ids: Iterable[str], folds: int, fold: int,
                  seed: int = 0) -> dict[str, list[str]]:
    """Fold ``fold`` of a patient-level ``folds``-fold cross-validation.

    The unique ids are shuffled with ``seed`` and cut into ``folds`` groups whose sizes differ
    by at most one. Fold k tests on group k, validates on group k + 1 (cyclically) and trains on
    the rest, so over k = 0 .. folds-1 every patient is tested exactly once. Returns
    {"train": [...], "val": [...], "test": [...]}, each sorted; like ``patient_split`` it
    depends only on the set of ids and the seed.
    """
    ids = sorted(set(patient_ids))
    if folds < 3:
        raise ValueError(f"cross-validation needs at least 3 folds (test, validation and "
                         f"training patients), got folds={folds}")
    if not 0 <= fold < folds:
        raise ValueError(f"fold must be in 0 .. {folds - 1} for {folds} folds, got {fold}")
    if len(ids) < folds:
        raise ValueError(f"{len(ids)} patients are too few for {folds} folds: each fold "
                         "needs at least one patient")
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    groups = [list(g) for g in np.array_split(np.array(order, dtype=object), folds)]
    val = (fold + 1) % folds
    return {"train": sorted(p for k, g in enumerate(groups) if k not in (fold, val) for p in g),
            "val": sorted(groups[val]), "test": sorted(groups[fold])}
