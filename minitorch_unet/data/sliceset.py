"""``SliceSet``: the in-memory stack of 2-D slices and masks that every dataset loader returns."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass
class SliceSet:
    """2-D slices with their binary tumour masks and the patient each slice comes from.

    images: (S, C, H, W) float32, intensities as the loader documents (not normalised)
    masks: (S, 1, H, W) float32 in {0, 1}
    patients: S patient (or case) ids, one per slice
    slice_index: (S,) int64, the slice's position in its patient's volume
    """

    images: np.ndarray
    masks: np.ndarray
    patients: list[str]
    slice_index: np.ndarray

    def __post_init__(self) -> None:
        count = len(self.images)
        if self.images.ndim != 4 or self.masks.ndim != 4 or self.masks.shape[1] != 1:
            raise ValueError(f"expected images (S, C, H, W) and masks (S, 1, H, W), "
                             f"got {self.images.shape} and {self.masks.shape}")
        if self.masks.shape[0] != count or self.masks.shape[2:] != self.images.shape[2:]:
            raise ValueError(f"images {self.images.shape} and masks {self.masks.shape} "
                             "do not match")
        if len(self.patients) != count or len(self.slice_index) != count:
            raise ValueError(f"{count} slices but {len(self.patients)} patient ids "
                             f"and {len(self.slice_index)} slice indices")

    def __len__(self) -> int:
        return len(self.images)

    def patient_ids(self) -> list[str]:
        """Sorted unique patient ids."""
        return sorted(set(self.patients))

    def select(self, patient_ids: Iterable[str]) -> SliceSet:
        """The slices of the given patients, in their original order."""
        wanted = set(patient_ids)
        unknown = wanted - set(self.patients)
        if unknown:
            raise ValueError(f"unknown patient ids: {sorted(unknown)}")
        keep = np.array([patient in wanted for patient in self.patients], dtype=bool)
        return SliceSet(images=self.images[keep], masks=self.masks[keep],
                        patients=[p for p, k in zip(self.patients, keep) if k],
                        slice_index=self.slice_index[keep])
