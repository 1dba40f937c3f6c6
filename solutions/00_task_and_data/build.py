"""Lesson 00, the task and the data: the cells of 00_task_and_data.ipynb.

Rebuild with ``python -m minitorch_unet.course build 00`` (see solutions/README.md).
"""
from nbformat import NotebookNode

from minitorch_unet.course import code, exercise, graded, markdown


def cells() -> list[NotebookNode]:
    return [
        markdown(r'''
# 00 · The task and the data

In this course you build, from nothing but NumPy, everything it takes to train a network that
outlines brain tumours on MRI: an automatic-differentiation engine (lessons 01–02), the layers
of a U-Net — convolution, max-pooling, transposed convolution, concatenation — written by hand
(03–06), then the U-Net itself, a Dice loss and the training loop (07–11).

This first lesson looks at the data, says what a *segmentation* is, and builds the number we
will judge every outline by: the **Dice coefficient**.

Run the cells from top to bottom. A cell that says `# YOUR CODE HERE` is yours to write; the
cell after it checks your answer and prints one line starting with ✔ when it is right.
'''),
        code('''
import numpy as np
import matplotlib.pyplot as plt

from minitorch_unet.checks import check
from minitorch_unet.data import EMBEDDED_SAMPLE, load_lgg
'''),
        markdown(r'''
## The images

The scans are **FLAIR** MRI (fluid-attenuated inversion recovery) of patients with a
lower-grade glioma, a slow-growing brain tumour. FLAIR suppresses the signal of the fluid
around the brain, so the tumour and the swelling around it show up bright. For every slice,
an expert drew a **mask**: 1 where the FLAIR abnormality is, 0 elsewhere.

The full public set has 110 patients from The Cancer Genome Atlas (TCGA-LGG), published by
The Cancer Imaging Archive (TCIA), with masks by Buda, Saha and Mazurowski (2019). The course
ships 4 of those patients; later lessons can train on the whole set.

Everything is stored as arrays of shape **(S, C, H, W)**: S slices, C channels (1 here: FLAIR),
H × W pixels. Every layer in this course uses this layout, with N images in a batch in place of S.
'''),
        code('''
# NBVAL_CHECK_OUTPUT
slices = load_lgg(EMBEDDED_SAMPLE)
images, masks = slices.images, slices.masks
print("images:", images.shape, images.dtype, f"values in [{images.min():.1f}, {images.max():.1f}]")
print("masks: ", masks.shape, masks.dtype, "values", np.unique(masks))
print("patients:", len(slices.patient_ids()), "| slices:", len(images))
'''),
        markdown(r'''
Here is the slice with the largest tumour: the FLAIR image, the expert's mask, and the mask's
outline drawn over the image.
'''),
        code('''
biggest = int(np.argmax(masks.sum(axis=(1, 2, 3))))
image, mask = images[biggest, 0], masks[biggest, 0]

fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
axes[0].imshow(image, cmap="gray")
axes[0].set_title("FLAIR slice")
axes[1].imshow(mask, cmap="gray")
axes[1].set_title("mask (1 = tumour)")
axes[2].imshow(image, cmap="gray")
axes[2].imshow(np.ma.masked_where(mask == 0, mask), cmap="autumn", alpha=0.45)
axes[2].contour(mask, levels=[0.5], colors="red", linewidths=1)
axes[2].set_title("overlay")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()
''', tags=["demo"]),
        markdown(r'''
Most slices of a patient show no tumour at all, and where there is one it is small. A row of
slices through one patient's head, from the neck (left) to the top (right). The first and
last are black: the FLAIR series of this patient covers a little less of the head than the
other two sequences stored with it, and the data set keeps those slices, filled with zeros
and with empty masks. A model meets them too, and must learn to predict nothing there.
'''),
        code('''
patient = slices.patients[biggest]
rows = [i for i, p in enumerate(slices.patients) if p == patient]
shown = [rows[int(k)] for k in np.linspace(0, len(rows) - 1, 6)]

fig, axes = plt.subplots(1, len(shown), figsize=(12, 2.4))
for ax, i in zip(axes, shown):
    ax.imshow(images[i, 0], cmap="gray")
    if masks[i, 0].any():
        ax.contour(masks[i, 0], levels=[0.5], colors="red", linewidths=1)
    ax.set_title(f"slice {slices.slice_index[i]}", fontsize=9)
    ax.axis("off")
plt.tight_layout()
plt.show()
''', tags=["demo"]),
        markdown(r'''
## A segmentation is an answer per pixel

A segmentation network reads an image and returns, for every pixel, the probability that it
belongs to the tumour. Thresholding at 0.5 turns that into a binary mask $P$, which we compare
with the expert's mask $T$.

How to score $P$ against $T$? The share of pixels that agree — the *pixel accuracy* — is
useless here, because tumour pixels are rare:
'''),
        code('''
# NBVAL_CHECK_OUTPUT
has_tumour = masks.reshape(len(masks), -1).max(axis=1) > 0
print(f"slices with a tumour: {has_tumour.sum()} of {len(masks)}")
print(f"tumour pixels: {masks.mean():.2%} of all pixels, "
      f"{masks[has_tumour].mean():.2%} of the pixels of tumour slices")
'''),
        markdown(r'''
A "network" that answers *no tumour* everywhere is right on about 98 % of the pixels, and
useless. We need a score that looks only at the tumour.

## The Dice coefficient

Count pixels: $|P|$ is the number of pixels in the predicted mask, $|T|$ in the true one and
$|P \cap T|$ in both. Then

$$
\mathrm{Dice}(P, T) = \frac{2\,|P \cap T|}{|P| + |T|}.
$$

It is 1 when the masks are identical and 0 when they do not overlap. The pixels that neither
mask contains — almost all of them — do not appear in it at all. (With true positives $tp$,
false positives $fp$ and false negatives $fn$ it reads $2\,tp / (2\,tp + fp + fn)$.)

**Empty masks.** When both masks are empty the formula is $0/0$. The network rightly found no
tumour, so we define Dice as **1** there. If only one of them is empty, Dice is 0.

### Exercise: `dice`

Write `dice(pred, target)` for two binary masks of the same shape (booleans, or numbers 0 and
1), counting over all their pixels. Return a Python `float`. NumPy's `np.logical_and` and
`.sum()` are all you need.
'''),
        exercise("dice", '''
def dice(pred: np.ndarray, target: np.ndarray) -> float:
    """Dice of two binary masks of the same shape (bool, or numbers 0/1), over all their pixels.

    Returns 2 |P ∩ T| / (|P| + |T|), and 1.0 when both masks are empty.
    """
    ### BEGIN SOLUTION
    p = np.asarray(pred).astype(bool)
    t = np.asarray(target).astype(bool)
    total = p.sum() + t.sum()
    if total == 0:
        return 1.0
    return float(2 * np.logical_and(p, t).sum() / total)
    ### END SOLUTION
'''),
        graded("check_dice", "dice", points=2, hidden_tests='''
from minitorch_unet import metrics

k = int(np.argmax(masks.sum(axis=(1, 2, 3))))
shifted = np.roll(masks[k], 4, axis=-1)
assert abs(dice(shifted, masks[k]) - metrics.dice_overall(shifted[None], masks[k][None])) < 1e-9
assert dice(masks[~has_tumour][0] > 0, masks[~has_tumour][1]) == 1.0
'''),
        markdown(r'''
## How Dice judges typical mistakes

Take the largest tumour again and spoil its mask the way a network might: shift it, grow or
shrink its border by a few pixels, keep only half of it, or miss it entirely.
'''),
        code('''
def grow(m: np.ndarray, steps: int) -> np.ndarray:
    """Dilate (steps > 0) or erode (steps < 0) a binary mask by |steps| pixels."""
    out = m.astype(bool)
    for _ in range(abs(steps)):
        shifted = [np.roll(out, s, axis=a) for a in (0, 1) for s in (-1, 1)]
        out = np.logical_or.reduce([out, *shifted]) if steps > 0 else np.logical_and.reduce([out, *shifted])
    return out


truth = mask > 0
columns = np.flatnonzero(truth.any(axis=0))
left = np.arange(truth.shape[1]) <= (columns.min() + columns.max()) // 2
spoilt = {
    "shifted 6 px": np.roll(truth, 6, axis=1),
    "grown 3 px": grow(truth, 3),
    "shrunk 3 px": grow(truth, -3),
    "left half": truth & left,
    "nothing": np.zeros_like(truth),
}

fig, axes = plt.subplots(1, len(spoilt), figsize=(13, 2.9))
for ax, (name, pred) in zip(axes, spoilt.items()):
    accuracy = (pred == truth).mean()
    ax.imshow(image, cmap="gray")
    ax.contour(truth, levels=[0.5], colors="lime", linewidths=1)
    if pred.any():
        ax.contour(pred, levels=[0.5], colors="red", linewidths=1)
    ax.set_title(f"{name}\\nDice {dice(pred, truth):.2f} · accuracy {accuracy:.1%}", fontsize=9)
    ax.axis("off")
plt.suptitle("green: expert's outline, red: prediction", fontsize=10)
plt.tight_layout()
plt.show()
''', tags=["demo"]),
        markdown(r'''
Pixel accuracy stays high whatever goes wrong, even for the empty answer on the slice with
the largest tumour of all; Dice drops with every mistake, and is 0 when the tumour is missed.

## One slice, or a whole patient?

Dice can be computed per slice and averaged, or over all the pixels of a patient's volume at
once. The empty-mask rule makes the difference: a network that never finds anything scores 1
on every tumour-free slice, so its *mean per-slice* Dice looks decent, while its Dice over each
patient's volume is 0. This course, like Buda et al., reports Dice over volumes.
'''),
        code('''
# NBVAL_CHECK_OUTPUT
nothing = np.zeros_like(masks)
patients = np.array(slices.patients)
per_slice = [dice(nothing[i], masks[i]) for i in range(len(masks))]
per_patient = [dice(nothing[patients == p], masks[patients == p]) for p in slices.patient_ids()]
print(f"predicting no tumour anywhere: mean Dice per slice {np.mean(per_slice):.2f}, "
      f"mean Dice per patient volume {np.mean(per_patient):.2f}")
''', tags=["demo"]),
        markdown(r'''
## Summary

* A segmentation answers *tumour or not* for every pixel; the data are FLAIR slices
  (S, 1, 256, 256) with binary masks of the same shape.
* Pixel accuracy rewards doing nothing; the **Dice coefficient** $2|P \cap T| / (|P| + |T|)$
  looks only at the tumour, and is 1 for two empty masks.
* We report Dice over each patient's volume.

Next, lesson 01 builds the engine that will let a network learn: automatic differentiation.

### Data sources

* Images: The Cancer Imaging Archive (TCIA), TCGA-LGG collection. Clark K. et al., "The Cancer
  Imaging Archive (TCIA): maintaining and operating a public information repository",
  *J Digit Imaging* 26 (2013).
* Masks and the public compilation: Buda M., Saha A., Mazurowski M.A., "Association of genomic
  subtypes of lower-grade gliomas with shape features automatically extracted by a deep
  learning algorithm", *Computers in Biology and Medicine* 109 (2019),
  doi:10.1016/j.compbiomed.2019.05.002.

The data are for non-commercial research and education; keep the attribution, and do not try
to identify the patients. Details, licence and the files: `data/README.md` in the repository.
'''),
    ]
