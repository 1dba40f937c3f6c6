"""``DataLoader``: shuffled, optionally augmented mini-batches from a ``SliceSet``."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .augment import Augment
from .sliceset import SliceSet


class DataLoader:
    """Iterate over (images (B, C, H, W) float32, masks (B, 1, H, W) float32) NumPy batches.

    Each pass draws its order and augmentation from (seed, epoch) alone. ``epoch`` starts at
    0 and advances by one each time iteration starts; ``set_epoch(k)`` makes the next pass
    reproduce epoch ``k`` exactly (e.g. when resuming training).
    """

    def __init__(self, slice_set: SliceSet, batch_size: int = 8, shuffle: bool = True,
                 seed: int = 0, augment: Augment | None = None, drop_last: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if len(slice_set) == 0:
            raise ValueError("cannot load batches from an empty SliceSet")
        self.slice_set, self.batch_size, self.shuffle = slice_set, batch_size, shuffle
        self.seed, self.augment, self.drop_last = seed, augment, drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass over the loader be epoch ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        count = len(self.slice_set)
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        epoch = self.epoch
        self.epoch += 1
        return self._batches(epoch)

    def _batches(self, epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order_seed, augment_seed = np.random.SeedSequence([self.seed, epoch]).spawn(2)
        count = len(self.slice_set)
        if self.shuffle:
            order = np.random.default_rng(order_seed).permutation(count)
        else:
            order = np.arange(count)
        rng = np.random.default_rng(augment_seed)
        for batch in range(len(self)):
            chosen = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            images, masks = self.slice_set.images[chosen], self.slice_set.masks[chosen]
            if self.augment is not None:
                for i in range(len(chosen)):
                    images[i], masks[i] = self.augment(images[i], masks[i], rng)
            yield images, masks
