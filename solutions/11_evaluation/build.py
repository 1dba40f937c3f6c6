"""Writes 11_evaluation.ipynb, the solution notebook of lesson 11 (evaluation)."""
from __future__ import annotations

from nbformat import NotebookNode

from minitorch_unet.course import code, exercise, graded, markdown


def demo(source: str) -> NotebookNode:
    """A cell that only shows things (a picture, a table, a training run)."""
    return code(source, tags=["demo"])


def cells() -> list[NotebookNode]:
    """The notebook's cells, in order."""
    return [
        markdown(r"""
# 11 · Evaluation

A trained network gives probabilities; a clinician needs to know how far to trust its
outlines. This lesson measures that:

1. the metrics: Dice per slice and per patient volume (exercises), IoU, precision, recall;
2. a model to measure: lesson 09's recipe, trained again here in seconds by the package's
   training loop, then scored on every patient, seen or unseen;
3. the predictions drawn over the slices, and where the model fails.

Data: the embedded LGG sample (TCGA-LGG via TCIA; masks by Buda et al., 2019).
"""),
        code("""
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minitorch_unet as mt
from minitorch_unet import metrics
from minitorch_unet.checks import check
from minitorch_unet.evaluate import overlay
from minitorch_unet.train import (TrainConfig, load_slices, predict_probabilities,
                                  read_checkpoint, train)

RUN = Path("runs") / "evaluation"        # under this notebook's folder; not kept in git
mt.manual_seed(0)
rng = np.random.default_rng(0)
"""),
        markdown(r"""
## 1 · Counting agreement

Threshold the probabilities at 0.5 and compare each pixel with the truth: **true
positives** $tp$ (tumour, found), **false positives** $fp$ (healthy, marked), **false
negatives** $fn$ (tumour, missed). Then

$$\mathrm{Dice} = \frac{2\,tp}{2\,tp + fp + fn}, \qquad \mathrm{IoU} = \frac{tp}{tp + fp + fn}
= \frac{\mathrm{Dice}}{2 - \mathrm{Dice}}, \qquad
\mathrm{precision} = \frac{tp}{tp + fp}, \qquad \mathrm{recall} = \frac{tp}{tp + fn}.$$

Dice and IoU rank models the same way (one is a monotone function of the other); recall
says how much of the tumour was found, precision how much of the marked region is tumour.
Most slices have no tumour. When the truth and the prediction are both empty every ratio
is $0/0$; the course (as `minitorch_unet.metrics`) counts that as **1**: "no tumour" was
the right answer. A tumour-free slice with a false alarm scores 0.

### Exercise 1: `dice_per_slice`

A pixel is tumour where `pred > threshold` (strictly) and where `target > 0.5`.
"""),
        exercise("dice_per_slice", '''
def dice_per_slice(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """pred (probabilities), target ({0, 1}): (S, 1, H, W) -> the Dice of each slice, (S,)."""
    ### BEGIN SOLUTION
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    overlap, total = (p & t).sum(axis=1), p.sum(axis=1) + t.sum(axis=1)
    return np.where(total == 0, 1.0, 2 * overlap / np.maximum(total, 1))
    ### END SOLUTION
'''),
        graded("check_dice_per_slice", "dice_per_slice"),
        markdown(r"""
A patient is one tumour in 3D. Its **volume Dice** sums $tp$, $fp$ and $fn$ over all of
the patient's slices first and takes one ratio (Buda et al., 2019 report this). The mean
of the slice Dices is a different number: a slice that grazes the tumour's edge with 5
pixels weighs as much as the central slice with 500, and every correctly empty slice adds
a 1.

### Exercise 2: `dice_per_patient`
"""),
        exercise("dice_per_patient", '''
def dice_per_patient(pred: np.ndarray, target: np.ndarray, patients: list[str],
                     threshold: float = 0.5) -> dict[str, float]:
    """pred, target: (S, 1, H, W); patients: S ids, one per slice -> {patient: volume Dice}."""
    ### BEGIN SOLUTION
    p = (pred > threshold).reshape(len(pred), -1)
    t = (target > 0.5).reshape(len(target), -1)
    ids = np.asarray(patients)
    result = {}
    for patient in dict.fromkeys(patients):
        rows = ids == patient
        overlap = (p[rows] & t[rows]).sum()
        total = p[rows].sum() + t[rows].sum()
        result[patient] = 1.0 if total == 0 else float(2 * overlap / total)
    return result
    ### END SOLUTION
'''),
        graded("check_dice_per_patient", "dice_per_patient", points=2),
        markdown(r"""
## 2 · A model to evaluate

Lesson 09's recipe (64×64 slices, depth 3, 8 base filters, batches of 4, 20 epochs,
patients split with seed 1) through the package's `train`: the same loop as yours, on the
engine's faster kernels, saving the best epoch to `runs/evaluation/best.npz`. The seed
also sets the initial weights and the batch order, so the numbers differ a little from
lesson 09's.
"""),
        demo("""
shutil.rmtree(RUN, ignore_errors=True)
config = TrainConfig(image_size=64, depth=3, base_filters=8, batch_size=4, epochs=20, seed=1,
                     save_every=0)
history = train(config, RUN)
print(f"kept epoch {history['best']['epoch']}: validation Dice {history['best']['val_dice']:.3f}")
"""),
        markdown(r"""
Every picture below reloads the kept checkpoint and predicts all 99 slices: the model,
its data and its split, read from the file.
"""),
        code('''
def predictions(checkpoint: Path) -> tuple:
    """-> (slices, probabilities (S, 1, H, W), {patient: 'train' | 'val' | 'test'})."""
    config, model, _, meta = read_checkpoint(checkpoint)
    slices = load_slices(config)
    role = {p: part for part, ids in meta["split"].items() for p in ids}
    return slices, predict_probabilities(model, slices.images, 16), role
'''),
        markdown(r"""
## 3 · Every patient, every metric

Your `dice_per_patient` beside the engine's metrics; each patient is marked with the part
of the split it was in.
"""),
        demo("""
slices, probabilities, role = predictions(RUN / "best.npz")
mine = dice_per_patient(probabilities, slices.masks, slices.patients)
scores = metrics.segmentation_metrics(probabilities, slices.masks, slices.patients)
print(f"{'patient':<24}{'role':<7}{'slices':>7}{'Dice':>8}{'IoU':>8}{'precision':>11}{'recall':>8}")
for patient, row in scores["per_patient"].items():
    assert abs(mine[patient] - row["dice"]) < 1e-9
    print(f"{patient:<24}{role[patient]:<7}{slices.patients.count(patient):>7}{mine[patient]:>8.3f}"
          f"{row['iou']:>8.3f}{row['precision']:>11.3f}{row['recall']:>8.3f}")
"""),
        markdown(r"""
No patient is outlined perfectly, not even the two the network trained on: at 64×64 with
8 base filters it underfits. The validation patient scores about as well as the training
ones (it chose the epoch, so its number is a little optimistic). The test patient, never
seen and never used for any choice, gives the honest estimate, and here it is the weakest
by far: what the network marks of TCGA_CS_6666 is nearly all tumour (precision near 1),
but it finds less than a fifth of the tumour (recall below 0.2). A mean over patients
would hide that; per-patient numbers show it.

## 4 · The predictions, drawn

Green: the true outline; red: the prediction (tinted inside). The tumour slices of the
validation and the test patient, with each slice's Dice:
"""),
        demo("""
slices, probabilities, role = predictions(RUN / "best.npz")
per_slice = dice_per_slice(probabilities, slices.masks)
for part in ("val", "test"):
    rows = [i for i, p in enumerate(slices.patients) if role[p] == part and slices.masks[i].any()]
    fig, axes = plt.subplots(1, len(rows), figsize=(1.6 * len(rows), 2.1))
    for ax, i in zip(axes, rows):
        ax.imshow(overlay(slices.images[i, 0], slices.masks[i, 0] > 0.5,
                          probabilities[i, 0] > 0.5))
        ax.set_title(f"{slices.slice_index[i]}: {per_slice[i]:.2f}", fontsize=8)
        ax.axis("off")
    fig.suptitle(f"{part} patient {slices.patients[rows[0]]}: slice number: Dice", fontsize=9)
    plt.show()
"""),
        markdown(r"""
## 5 · Where the model fails

Two questions, on the slices of the two unseen patients that contain tumour: does the Dice
depend on the tumour's size, and on where the slice sits in the tumour (its first and
last slices, where it is smallest and its edge blurs into healthy tissue)? And on the
slices without tumour: how often does the model raise a false alarm?
"""),
        demo("""
slices, probabilities, role = predictions(RUN / "best.npz")
per_slice = dice_per_slice(probabilities, slices.masks)
size = slices.masks.reshape(len(slices), -1).sum(axis=1)
found = (probabilities > 0.5).reshape(len(slices), -1).any(axis=1)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
for patient in [p for p in dict.fromkeys(slices.patients) if role[p] != "train"]:
    rows = np.array([i for i, p in enumerate(slices.patients) if p == patient and size[i] > 0])
    k = slices.slice_index[rows]
    position = (k - k.min()) / max(k.max() - k.min(), 1)
    label = f"{patient} ({role[patient]})"
    left.scatter(size[rows], per_slice[rows], label=label)
    right.scatter(position, per_slice[rows], label=label)
    empty = [i for i, p in enumerate(slices.patients) if p == patient and size[i] == 0]
    print(f"{label}: {len(rows)} tumour slices, Dice median {np.median(per_slice[rows]):.2f}; "
          f"{int(found[empty].sum())} false alarms on {len(empty)} tumour-free slices")
left.set(xlabel="tumour pixels in the slice (64x64)", ylabel="slice Dice",
         title="Dice against tumour size")
right.set(xlabel="position in the tumour: 0 = first slice, 1 = last", ylabel="slice Dice",
          title="Dice against position")
left.legend(fontsize=8)
plt.show()
"""),
        markdown(r"""
On the validation patient the Dice grows with the tumour's cross-section, and the first
and last slices of the tumour, where it is smallest and its edge blurs into healthy
tissue, score lowest: at 64×64 they are a few pixels, and one pixel more or less moves the
Dice a lot. Most of its tumour-free slices carry a false alarm: small specks at the bright
rim of the skull (bottom right in the overlays above). The test patient's slices score low at
every size and position. Why? Its tumour beside the others (each patient's slice with the
most tumour):
"""),
        demo("""
slices, probabilities, role = predictions(RUN / "best.npz")
size = slices.masks.reshape(len(slices), -1).sum(axis=1)
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
for ax, patient in zip(axes, sorted(dict.fromkeys(slices.patients), key=lambda p: role[p] != "test")):
    rows = [i for i, p in enumerate(slices.patients) if p == patient]
    i = rows[int(np.argmax(size[rows]))]
    ax.imshow(overlay(slices.images[i, 0], slices.masks[i, 0] > 0.5, probabilities[i, 0] > 0.5))
    ax.set_title(f"{patient[5:12]} ({role[patient]})", fontsize=9)
    ax.axis("off")
plt.show()
"""),
        markdown(r"""
On FLAIR the training patients' tumours are bright throughout. TCGA_CS_6666's is a dark
core inside a bright rim, and the mask covers the whole of it: the network has learned
"bright region = tumour" from its two examples, and this tumour mostly is not bright. No
metric computed on the training or validation patients could have revealed that; only an
unseen patient with a different-looking tumour did.
"""),
        markdown(r"""
## 6 · A model trained on 98 patients

The package ships a U-Net that this engine trained on 98 patients of the same LGG set:
`UNet.pretrained()` loads it, and `python -m minitorch_unet predict pretrained --data ...`
segments new scans with it (its model card, `minitorch_unet/weights/MODEL_CARD.md`, gives
the recipe, the command and the limits). It trained on the four sample patients too, so its
Dice on them is a training score, and optimistic. The honest numbers come from
cross-validation: the same recipe trained five times, each time on 58 patients, chosen on
20 others and tested on 20 more, so that every patient was tested once by a model that
never saw it. Those per-patient results travel with the weights:
"""),
        demo("""
from minitorch_unet.evaluate import predicted_masks
from minitorch_unet.pretrained import pretrained_meta
from minitorch_unet.unet import UNet

shipped, card = UNet.pretrained(), pretrained_meta()
cv = card["note"]["cross_validation"]
groups = sorted({p.split("_")[1] for p in cv["test_dice"]})
fig, ax = plt.subplots(figsize=(8, 2.8))
for group in groups:
    values = [d for p, d in cv["test_dice"].items() if p.split("_")[1] == group]
    ax.hist(values, bins=np.linspace(0, 1, 21), alpha=0.6, label=f"{group} ({len(values)})")
ax.set(xlabel="cross-validated Dice of one patient", ylabel="patients",
       title=f"{len(cv['test_dice'])} patients, mean {cv['mean']:.2f}, median {cv['median']:.2f}")
ax.legend(title="TCGA site", fontsize=8)
plt.show()
worst = sorted(cv["test_dice"].items(), key=lambda item: item[1])[:5]
print("lowest:", ", ".join(f"{p} {d:.2f}" for p, d in worst))
"""),
        markdown(r"""
The shipped model on the four sample patients, at its own size, beside the small model of
section 2, each patient's slice with the most tumour:
"""),
        demo("""
config = TrainConfig.from_dict(card["config"])
big = load_slices(config)
shipped_probabilities = predict_probabilities(shipped, big.images, 16,
                                              flip=card["postprocess"]["flip"])
shipped_masks = predicted_masks(shipped_probabilities, big.patients, card["postprocess"])
shipped_dice = dice_per_patient(shipped_masks, big.masks, big.patients)
small, probabilities, role = predictions(RUN / "best.npz")
small_dice = dice_per_patient(probabilities, small.masks, small.patients)
print(f"{'patient':<24}{'small model (role)':>20}{'shipped (trained on it)':>26}")
for patient in shipped_dice:
    print(f"{patient:<24}{small_dice[patient]:>13.3f} ({role[patient]:<5}){shipped_dice[patient]:>20.3f}")
size = big.masks.reshape(len(big), -1).sum(axis=1)
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
for ax, patient in zip(axes, shipped_dice):
    rows = [i for i, p in enumerate(big.patients) if p == patient]
    i = rows[int(np.argmax(size[rows]))]
    ax.imshow(overlay(big.images[i, 0], big.masks[i, 0] > 0.5, shipped_masks[i, 0] > 0.5))
    ax.set_title(f"{patient[5:12]}: {shipped_dice[patient]:.2f}", fontsize=9)
    ax.axis("off")
plt.show()
"""),
        markdown(r"""
Trained on 98 patients, the shipped model outlines every sample patient better than the
small model, and its cross-validated figures say that this is not only memory: on patients
it never saw, the same recipe scores a median of 0.79. Its failures are of the same kinds:
TCGA_CS_6666 is still the weakest (its dark core is left out of the prediction, a hole
inside the outline), and a tail of patients score below 0.5, two of them 0: the model
marks nothing of their tumours. Of the 12 below 0.5, 11 marked less than half of their
tumour and only one marked far too much: when this model errs, it mostly stays silent, so
an empty mask does not prove there is no tumour. The sites differ too (the TCGA code
after `TCGA_` names the site): the DU patients score lowest on average, the HT patients
highest. A single mean, 0.72, hides all of that.
"""),
        markdown(r"""
**Summary.** Dice $= 2tp/(2tp + fp + fn)$, IoU $=$ Dice$/(2 -$ Dice$)$, recall and
precision split the errors into misses and false alarms; an empty truth with an empty
prediction scores 1. Report the volume Dice of each unseen patient, not only a mean: this
small model, trained on two patients at 64×64, outlines the validation patient's tumour
fairly well, raises small false alarms at the skull, and finds little of the test patient's
tumour, because it looks unlike anything it trained on. Small cross-sections, at a
tumour's first and last slices, are the hardest. More patients help most: the shipped
model, trained on 98, does far better, yet it still fails on small and unusual tumours.
Training it longer no longer helps (its model card: 36 epochs scored no better than 24 in
cross-validation); full resolution and a wider network (lesson 10's GPU run) are the next
remedies to try.
"""),
    ]
