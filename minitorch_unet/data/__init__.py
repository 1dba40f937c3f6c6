"""The data pipeline (host-side NumPy): load LGG or BraTS slices, split, augment, batch.

    slices = load_dataset()                      # the embedded 4-patient LGG sample
    parts = patient_split(slices.patient_ids())
    train = DataLoader(slices.select(parts["train"]), augment=Augment())
"""
from __future__ import annotations

import re
from pathlib import Path

from .augment import Augment
from .brats import brats_file, load_brats
from .lgg import load_lgg
from .loader import DataLoader
from .sliceset import SliceSet
from .source import DataError, FileSource
from .split import patient_folds, patient_split
from .transforms import normalize, resize

__all__ = ["DataError", "SliceSet", "load_lgg", "load_brats", "load_dataset", "patient_split",
           "patient_folds", "normalize", "resize", "Augment", "DataLoader", "EMBEDDED_SAMPLE"]

# The project ships a 4-patient LGG sample in ``<repo>/data/`` (see data/README.md).
EMBEDDED_SAMPLE = Path(__file__).resolve().parents[2] / "data" / "lgg_sample_4patients.zip"

_LGG_MASK = re.compile(r".+_\d+_mask\.tiff?", re.IGNORECASE)


def load_dataset(path: str | Path | None = None, image_size: int = 256,
                 channels: str = "flair") -> SliceSet:
    """Slices from an LGG tree or zip, or BraTS cases of any release, by what ``path`` holds.

    path: None for the embedded LGG sample. channels: ``"flair"`` (C = 1) or ``"all"``: every
    modality of the dataset (LGG: C = 3, pre-contrast, FLAIR, post-contrast; BraTS: C = 4,
    FLAIR, T1, T1ce, T2). Returns a ``SliceSet``: images (S, C, image_size, image_size) and
    masks (S, 1, image_size, image_size), float32.
    """
    if channels not in ("flair", "all"):
        raise ValueError(f"unknown channels {channels!r}; use 'flair' or 'all'")
    path = EMBEDDED_SAMPLE if path is None else Path(path)
    if path == EMBEDDED_SAMPLE and not path.is_file():
        raise DataError(f"{path}: the embedded LGG sample is missing (the package was installed "
                        "without the project's data/ folder); pass --data with a kaggle_3m folder, "
                        "the Kaggle archive.zip or a BraTS folder")
    with FileSource(path) as source:
        bases = [name.rsplit("/", 1)[-1] for name in source.names()]
    if any(_LGG_MASK.fullmatch(base) for base in bases):
        return load_lgg(path, channels=channels, image_size=image_size)
    if any((brats_file(base) or ("", ""))[1] == "seg" for base in bases):
        return load_brats(path, modality=channels, image_size=image_size)
    raise DataError(f"{path}: holds neither LGG slices (<PATIENT>/<PATIENT>_<k>_mask.tif) "
                    "nor BraTS cases (a label volume such as <ID>_seg.nii.gz, <ID>-seg.nii.gz "
                    "or OTMultiClass.nii.gz beside the MRI volumes)")
