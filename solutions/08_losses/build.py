"""Writes 08_losses.ipynb, the solution notebook of lesson 08 (losses)."""
from __future__ import annotations

from nbformat import NotebookNode

from minitorch_unet.course import code, exercise, graded, markdown


def demo(source: str) -> NotebookNode:
    """A cell that only shows things (a picture, a table)."""
    return code(source, tags=["demo"])


def cells() -> list[NotebookNode]:
    """The notebook's cells, in order."""
    return [
        markdown(r"""
# 08 · Losses

Training needs one number that says how wrong a prediction is, and whose gradient says how
to make it less wrong. The U-Net outputs one **logit** $x$ per pixel; the probability of
tumour is $p = \sigma(x) = 1 / (1 + e^{-x})$, and the target $t$ is 1 on tumour, 0 elsewhere.
This lesson writes the two losses the course trains with:

1. **binary cross-entropy** (BCE), per pixel, computed from the logits so that it never
   overflows;
2. **soft Dice**, which scores the overlap of the whole predicted region with the true one;

and measures why the second matters on brain MRI: tumour is a few percent of the pixels.
"""),
        code("""
import matplotlib.pyplot as plt
import numpy as np

import minitorch_unet as mt
from minitorch_unet import Tensor
from minitorch_unet.checks import check
from minitorch_unet.data import load_dataset

mt.manual_seed(0)
rng = np.random.default_rng(0)
"""),
        markdown(r"""
## 1 · Binary cross-entropy, from the logits

The negative log-likelihood of the target under the predicted probability, averaged over
the $N$ pixels:

$$\mathrm{BCE} = -\frac{1}{N} \sum_i \big[t_i \log p_i + (1 - t_i) \log(1 - p_i)\big].$$

As written it breaks on confident predictions: in float32, $\sigma(20)$ already rounds to
exactly 1, so $\log(1 - p) = \log 0 = -\infty$. Write it in $x$ instead. With
$\log p = -\log(1 + e^{-x})$ and $\log(1 - p) = -x - \log(1 + e^{-x})$, one pixel's loss is
$(1 - t)\,x + \log(1 + e^{-x})$, which still overflows $e^{-x}$ for $x \ll 0$. Since
$\log(1 + e^{-x}) = \max(-x, 0) + \log(1 + e^{-|x|})$:

$$\ell(x, t) = \max(x, 0) - x\,t + \log\!\big(1 + e^{-|x|}\big).$$

The exponent is never positive, so nothing overflows, and the gradient is simply

$$\frac{\partial \ell}{\partial x} = \sigma(x) - t,$$

bounded, and large exactly while the prediction is wrong. In float32:
"""),
        demo("""
x = np.array([-100, -30, 0, 30, 100], dtype=np.float32)
with np.errstate(all="ignore"):
    p = 1 / (1 + np.exp(-x))
    for t in (0.0, 1.0):
        naive = -(t * np.log(p) + (1 - t) * np.log(1 - p))
        stable = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
        print(f"t = {t:.0f}, logits {x}: naive {np.array2string(naive, precision=3)}, "
              f"stable {np.array2string(stable, precision=3)}")
"""),
        markdown(r"""
### Exercise 1: `bce_with_logits`

Build the loss from Tensor operations (`relu`, `exp`, `log`, `mean`, `+ - *`) so that
autograd finds its gradient; $|x| = \mathrm{relu}(x) + \mathrm{relu}(-x)$.
"""),
        exercise("bce_with_logits", '''
def bce_with_logits(logits: Tensor, target: Tensor) -> Tensor:
    """logits, target: the same shape, e.g. (N, 1, H, W) -> the mean BCE, a one-element Tensor."""
    ### BEGIN SOLUTION
    magnitude = logits.relu() + (-logits).relu()
    return (logits.relu() - logits * target + (1 + (-magnitude).exp()).log()).mean()
    ### END SOLUTION
'''),
        graded("check_bce_with_logits", "bce_with_logits"),
        markdown(r"""
## 2 · Soft Dice

The **Dice coefficient** of a predicted region $P$ and the true region $T$ is
$2|P \cap T| / (|P| + |T|)$: 1 for a perfect outline, 0 for no overlap. Counting pixels
after a threshold has no gradient, so the loss uses the probabilities instead:

$$L = 1 - \frac{2 \sum_i p_i t_i + s}{\sum_i p_i + \sum_i t_i + s}.$$

The sums run over every pixel of the whole batch: one ratio per batch (the engine's
convention, and common for binary segmentation). The smoothing $s$ (1 by default) keeps the
ratio defined when there is no tumour in the batch and the network predicts none
($L = 1 - s/s = 0$, right), and softens the gradient on tiny regions.

**Its gradient.** Write $I = \sum_i p_i t_i$ and $S = \sum_i p_i + \sum_i t_i$. By the quotient rule,

$$\frac{\partial L}{\partial p_j} = -\frac{2 t_j (S + s) - (2I + s)}{(S + s)^2},
\qquad \frac{\partial L}{\partial x_j} = \frac{\partial L}{\partial p_j}\; p_j (1 - p_j).$$

Unlike BCE, the gradient at one pixel depends on **all** pixels, through $I$ and $S$: the
loss judges regions, not pixels one by one.

### Exercise 2: `soft_dice_loss`

Tensor operations again (`sigmoid`, `sum`); autograd derives the gradient above, and the
check compares both with the closed form (and runs a gradient check on your function).
"""),
        exercise("soft_dice_loss", '''
def soft_dice_loss(logits: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    """logits, target: the same shape, e.g. (N, 1, H, W) -> 1 - soft Dice over the whole batch."""
    ### BEGIN SOLUTION
    p = logits.sigmoid()
    intersection = (p * target).sum()
    return 1 - (2 * intersection + smooth) / (p.sum() + target.sum() + smooth)
    ### END SOLUTION
'''),
        graded("check_soft_dice_loss", "soft_dice_loss", points=2),
        markdown(r"""
The gradient check of lesson 02, on your function, in float64:
"""),
        demo("""
logits = Tensor(rng.normal(0, 2, (2, 1, 5, 5)), requires_grad=True)
target = Tensor((rng.random((2, 1, 5, 5)) < 0.3).astype(np.float64))
print("gradcheck(soft_dice_loss):", mt.gradcheck(lambda x: soft_dice_loss(x, target), logits))
print("gradcheck(bce_with_logits):", mt.gradcheck(lambda x: bce_with_logits(x, target), logits))
"""),
        markdown(r"""
## 3 · Class imbalance on brain MRI

How much of a slice is tumour? The embedded sample: 4 patients, 99 slices at their full
256×256 (data: TCGA-LGG via TCIA; masks by Buda et al., 2019).
"""),
        code("""
# NBVAL_CHECK_OUTPUT
slices = load_dataset(image_size=256)
tumour = slices.masks.reshape(len(slices), -1).mean(axis=1)       # tumour fraction per slice
print(f"{len(slices)} slices of {len(slices.patient_ids())} patients")
print(f"slices with tumour: {(tumour > 0).sum()} ({(tumour > 0).mean():.1%})")
print(f"tumour pixels: {slices.masks.mean():.2%} of all pixels")
print(f"on slices with tumour: median {np.median(tumour[tumour > 0]):.2%}, "
      f"largest {tumour.max():.2%}, smallest {tumour[tumour > 0].min():.3%}")
"""),
        demo("""
has = np.flatnonzero(tumour > 0)
middle = has[np.argsort(tumour[has])[len(has) // 2]]
fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), gridspec_kw={"width_ratios": [1, 1.3, 0.6]})
axes[0].imshow(slices.images[middle, 0], cmap="gray")
axes[0].contour(slices.masks[middle, 0], levels=[0.5], colors="red", linewidths=1)
axes[0].set_title(f"a median tumour slice: {tumour[middle]:.1%} tumour", fontsize=9)
axes[0].axis("off")
axes[1].hist(tumour[has] * 100, bins=np.geomspace(0.2, 15, 16), color="tab:red")
axes[1].set_xscale("log")
axes[1].set(xlabel="tumour pixels (% of the slice)", ylabel="slices",
            title=f"{len(has)} slices with tumour (and {len(slices) - len(has)} without)")
axes[2].bar(["tumour", "background"], [slices.masks.mean() * 100, 100 - slices.masks.mean() * 100],
            color=["tab:red", "tab:gray"])
axes[2].set(ylabel="% of all pixels", title="all pixels")
fig.tight_layout()
plt.show()
"""),
        markdown(r"""
Under 2% of the pixels are tumour, and most slices have none. How do the two losses rank
three answers on these 99 slices: the lazy "no tumour anywhere" ($p = 0.02$ everywhere),
and the exact outline given with 90% or 99% confidence?
"""),
        demo("""
target = Tensor(slices.masks)
answers = {"'no tumour anywhere' (p = 0.02)": np.full(slices.masks.shape, 0.02),
           "the exact outline, 90% sure": np.where(slices.masks > 0, 0.9, 0.1),
           "the exact outline, 99% sure": np.where(slices.masks > 0, 0.99, 0.01)}
for name, p in answers.items():
    logits = Tensor(np.log(p / (1 - p)).astype(np.float32))
    print(f"{name:<34} BCE {bce_with_logits(logits, target).item():.3f}   "
          f"soft Dice loss {soft_dice_loss(logits, target).item():.3f}")
"""),
        markdown(r"""
BCE prefers the lazy answer to a perfect but 90%-sure outline: 98% of its pixels are
right, and confidently so. Soft Dice ranks them the way a radiologist would: the lazy
answer is the worst possible (a loss near 1), the outline much better. BCE has its own
strength: a per-pixel, well-scaled gradient from the first step, where Dice is noisy
while the predicted region is still a blur. So the course trains on their average,
`minitorch_unet.losses.bce_dice_loss`:

$$L = \tfrac12\,\mathrm{BCE} + \tfrac12\,(1 - D_s).$$

**Summary.** Compute BCE from the logits as $\max(x, 0) - xt + \log(1 + e^{-|x|})$: no
overflow, gradient $\sigma(x) - t$. Soft Dice, $1 - (2\sum pt + s)/(\sum p + \sum t + s)$,
scores the overlap of whole regions, is not fooled by the sea of easy background, and its gradient
at each pixel depends on all of them. Next: the optimisers that follow these gradients,
and the training loop.
"""),
    ]
