"""Writes 09_training.ipynb, the solution notebook of lesson 09 (optimisers and training)."""
from __future__ import annotations

from nbformat import NotebookNode

from minitorch_unet.course import code, exercise, graded, markdown


def demo(source: str) -> NotebookNode:
    """A cell that only shows things (a picture, a training run)."""
    return code(source, tags=["demo"])


def cells() -> list[NotebookNode]:
    """The notebook's cells, in order."""
    return [
        markdown(r"""
# 09 · Training

Everything is in place: layers (03-06), the U-Net (07), the losses (08). What is left is
the loop that changes the weights:

1. the **optimisers**: SGD with momentum and Adam, each one step on arrays (exercises);
2. the **data pipeline**: patients split before anything else, random augmentation, batches;
3. the **training loop**, run on your own layers, your losses and your Adam, on real FLAIR
   slices, with the validation Dice measured after every epoch.

The run here is small so that it takes well under a minute on a laptop's CPU: 64×64 slices,
a depth-3 U-Net with 8 base filters. `FULL_RUN = True` selects the command line's default
settings (128×128, depth 4, 16 base filters, 40 epochs), which take far longer on a CPU;
lesson 10 moves that to a GPU.
"""),
        code("""
import math
import time

import matplotlib.pyplot as plt
import numpy as np

import minitorch_unet as mt
from minitorch_unet import Tensor, functional as F, losses, metrics
from minitorch_unet.checks import check
from minitorch_unet.course import plug_in, use_own_or_reference
from minitorch_unet.data import Augment, DataLoader, load_dataset, normalize, patient_split
from minitorch_unet.unet import UNet

FULL_RUN = False
IMAGE_SIZE, DEPTH, BASE_FILTERS, EPOCHS = (128, 4, 16, 40) if FULL_RUN else (64, 3, 8, 20)

my_layers = {
    "conv2d": use_own_or_reference("check_conv2d", F.conv2d),
    "max_pool2d": use_own_or_reference("check_max_pool2d", F.max_pool2d),
    "conv_transpose2d": use_own_or_reference("check_conv_transpose2d", F.conv_transpose2d),
    "cat": use_own_or_reference("check_cat", F.cat),
}
bce = use_own_or_reference("check_bce_with_logits", F.binary_cross_entropy_with_logits)
dice_loss = use_own_or_reference("check_soft_dice_loss", losses.soft_dice_loss)
mt.manual_seed(0)
"""),
        markdown(r"""
## 1 · Gradient descent with momentum

Plain gradient descent steps against the gradient, $p \leftarrow p - \eta\, g$. In a long
narrow valley (common: some weights matter far more than others) the gradient points
mostly across the valley, so the steps zig-zag and progress along it is slow. **Momentum**
keeps a running sum of past gradients, a velocity, and steps along it (PyTorch's form):

$$b \leftarrow \mu\, b + g, \qquad p \leftarrow p - \eta\, b.$$

Components that flip sign from step to step cancel in $b$; steady ones add up, to an
effective step of $\eta / (1 - \mu)$ ($10\eta$ for $\mu = 0.9$). The buffer starts at zero.

### Exercise 1: `sgd_momentum_step`

One step on NumPy arrays; return the new parameter and the new buffer.
"""),
        exercise("sgd_momentum_step", '''
def sgd_momentum_step(param: np.ndarray, grad: np.ndarray, buf: np.ndarray, lr: float,
                      momentum: float) -> tuple[np.ndarray, np.ndarray]:
    """All arrays of one shape -> (new param, new buffer), as torch.optim.SGD."""
    ### BEGIN SOLUTION
    buf = momentum * buf + grad
    return param - lr * buf, buf
    ### END SOLUTION
'''),
        graded("check_sgd_momentum_step", "sgd_momentum_step"),
        markdown(r"""
## 2 · Adam

Adam (Kingma and Ba, 2015) keeps two running averages per parameter, of the gradient and
of its square, and divides one by the root of the other. At step $t = 1, 2, \ldots$:

$$m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2,$$

$$\hat m = \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
p \leftarrow p - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}.$$

$m$ and $v$ start at zero, so early on they underestimate; dividing by $1 - \beta^t$ (the
**bias correction**) undoes exactly that. The ratio $\hat m / \sqrt{\hat v}$ is about
$\pm 1$ for a steady gradient, whatever its size: every parameter moves by about $\eta$
per step, so one learning rate suits weights whose gradients differ by orders of
magnitude (in a U-Net, the first and the last layers').
Defaults: $\eta = 10^{-3}$, $\beta = (0.9, 0.999)$, $\epsilon = 10^{-8}$.

### Exercise 2: `adam_step`
"""),
        exercise("adam_step", '''
def adam_step(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
              lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
              eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All arrays of one shape; t = 1 at the first step -> (new param, new m, new v)."""
    ### BEGIN SOLUTION
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    ### END SOLUTION
'''),
        graded("check_adam_step", "adam_step", points=2),
        markdown(r"""
Your three optimisers on a narrow valley, $f(x, y) = \tfrac12 (x^2 + 25\, y^2)$, 40 steps from
the same start:
"""),
        demo("""
curvature = np.array([1.0, 25.0])
runs = {"SGD, lr 0.075": ("sgd", 0.075, 0.0), "SGD + momentum 0.9, lr 0.02": ("sgd", 0.02, 0.9),
        "Adam, lr 0.3": ("adam", 0.3, None)}
xs, ys = np.meshgrid(np.linspace(-5, 1, 200), np.linspace(-2, 2, 200))
fig, ax = plt.subplots(figsize=(7, 3.8))
ax.contour(xs, ys, 0.5 * (xs ** 2 + 25 * ys ** 2), levels=np.geomspace(0.05, 60, 12),
           colors="lightgray", linewidths=0.8)
for label, (kind, lr, momentum) in runs.items():
    p, state = np.array([-4.5, 1.5]), [np.zeros(2), np.zeros(2)]
    path = [p]
    for t in range(1, 41):
        g = curvature * p
        if kind == "sgd":
            p, state[0] = sgd_momentum_step(p, g, state[0], lr, momentum)
        else:
            p, state[0], state[1] = adam_step(p, g, state[0], state[1], t, lr=lr)
        path.append(p)
    path = np.array(path)
    ax.plot(path[:, 0], path[:, 1], marker=".", markersize=3, lw=1,
            label=f"{label}: f = {0.5 * (curvature * p ** 2).sum():.1e} after 40 steps")
ax.plot(0, 0, "k*", markersize=10)
ax.set(xlabel="x", ylabel="y", title="f(x, y) = (x² + 25 y²) / 2")
ax.legend(fontsize=8, loc="lower right")
plt.show()
"""),
        markdown(r"""
Plain SGD's learning rate is capped by the steep direction (above $2/25$ it diverges along
$y$), so it crawls along $x$; momentum keeps the speed it gathers along $x$ while the
zig-zag in $y$ cancels; Adam moves both coordinates at about the same pace from the start.

## 3 · The data: split patients, then augment

The slices of one patient are near-copies of each other (neighbouring cuts of one brain).
Split slices at random and validation slices have twins in the training set: the score
measures memory, not generalisation. So the **patients** are split first, here 2 for
training, 1 for validation (choosing the epoch to keep) and 1 for testing (lesson 11).

With four patients the split matters a great deal. The split seed 1 used here validates on
TCGA_DU_A5TU. With the package's default seed 0 the validation patient would be
TCGA_CS_6666, and the same recipe, trained on two other patients, reaches a validation Dice
of only 0.05 there: lesson 11 looks into that patient. Here each slice is min-max
normalised to [0, 1] on its own. The command line (`minitorch_unet.train`) scales each
patient's whole volume instead, one scale per patient and channel, so that a slice near the
top of the head, mostly background, keeps its true brightness.
"""),
        code("""
# NBVAL_CHECK_OUTPUT
SPLIT_SEED = 1
slices = load_dataset(image_size=IMAGE_SIZE)
slices.images[:] = normalize(slices.images, "minmax")
split = patient_split(slices.patient_ids(), seed=SPLIT_SEED)
train_set, val_set = slices.select(split["train"]), slices.select(split["val"])
for part, ids in split.items():
    chosen = slices.select(ids)
    with_tumour = int((chosen.masks.reshape(len(chosen), -1).max(axis=1) > 0).sum())
    print(f"{part:<5} {', '.join(ids):<46} {len(chosen):>3} slices, {with_tumour} with tumour")
"""),
        markdown(r"""
Two patients are very little data. **Augmentation** draws a new random variant of each
training slice every time it is used: a left-right flip, a rotation up to 15°, a shift up
to 10% and a zoom up to ±10%, one affine map applied to the image (bilinear) and to its
mask (nearest neighbour, so it stays 0/1). The network sees anatomy in poses the two
patients never had. Validation and test slices are never augmented.
"""),
        demo("""
augment = Augment()
rng = np.random.default_rng(0)
i = int(np.argmax(train_set.masks.reshape(len(train_set), -1).sum(axis=1)))
fig, axes = plt.subplots(1, 6, figsize=(12, 2.3))
for k, ax in enumerate(axes):
    image, mask = (train_set.images[i], train_set.masks[i]) if k == 0 else \\
        augment(train_set.images[i], train_set.masks[i], rng)
    ax.imshow(image[0], cmap="gray", vmin=0, vmax=1)
    ax.contour(mask[0], levels=[0.5], colors="red", linewidths=0.8)
    ax.set_title("original" if k == 0 else f"augmented {k}", fontsize=9)
    ax.axis("off")
fig.suptitle(f"One training slice ({train_set.patients[i]}) and five random variants; red: tumour",
             fontsize=9)
plt.show()
"""),
        markdown(r"""
A `DataLoader` shuffles the training slices each epoch (from a fixed seed, so runs repeat
exactly), augments them and serves batches of NumPy arrays. Batches of 4 slices: with so
little data, more (and noisier) steps per epoch train better than fewer, larger ones.
"""),
        code("""
# NBVAL_CHECK_OUTPUT
loader = DataLoader(train_set, batch_size=4, shuffle=True, seed=0, augment=Augment())
images, masks = next(iter(loader))
loader.set_epoch(0)
print(f"{len(loader)} batches per epoch; one batch: images {images.shape} {images.dtype}, "
      f"masks {masks.shape}, values {np.unique(masks).tolist()}")
"""),
        markdown(r"""
## 4 · The training loop

One **epoch** is a pass over the training slices. For each batch: forward (the logits),
the loss $\tfrac12\,\mathrm{BCE} + \tfrac12\,(1 - D_s)$, backward, one optimiser step, and
the gradients cleared for the next batch. After each epoch, **validation**: evaluation
mode (batch norm uses its running statistics), probabilities thresholded at 0.5, and the
Dice of each validation patient's whole volume (lesson 11 writes that metric). The
weights of the best epoch are kept: the validation patient chooses the epoch, and the
test patient stays unseen until the end.

The learning rate follows a half cosine from $\eta_0$ to 0 over the run,
$\eta_e = \eta_0\, (1 + \cos(\pi e / E)) / 2$: big steps early, fine ones at the end.
The optimiser below is your `adam_step`, applied to every parameter.
"""),
        code('''
class Adam:
    """Your adam_step on every parameter of a model; lr may change between steps."""

    def __init__(self, params, lr: float = 1e-3) -> None:
        self.params, self.lr, self.t = list(params), lr, 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        self.t += 1
        for i, p in enumerate(self.params):
            p.data, self.m[i], self.v[i] = adam_step(p.data, p.grad.data, self.m[i], self.v[i],
                                                     self.t, lr=self.lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


def segmentation_loss(logits: Tensor, target: Tensor) -> Tensor:
    """(N, 1, H, W) logits and masks -> 0.5 BCE + 0.5 soft Dice loss."""
    return 0.5 * bce(logits, target) + 0.5 * dice_loss(logits, target)


def validation_dice(model: UNet, val_set) -> float:
    """Mean over the validation patients of their volume Dice (threshold 0.5)."""
    model.eval()
    with mt.no_grad():
        probabilities = np.concatenate([model.probabilities(Tensor(val_set.images[i:i + 16])).data
                                        for i in range(0, len(val_set), 16)])
    model.train()
    per_patient = metrics.dice_per_patient(probabilities, val_set.masks, val_set.patients)
    return float(np.mean(list(per_patient.values())))


def fit(model: UNet, loader: DataLoader, val_set, epochs: int, lr: float = 1e-3):
    """Train with Adam and a cosine schedule -> (history rows, state_dict of the best epoch)."""
    optimizer, history, best = Adam(model.parameters(), lr), [], None
    for epoch in range(epochs):
        optimizer.lr = lr * (1 + math.cos(math.pi * epoch / epochs)) / 2
        started, total = time.perf_counter(), 0.0
        for images, masks in loader:
            loss = segmentation_loss(model(Tensor(images)), Tensor(masks))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(images)
        row = {"epoch": epoch + 1, "loss": total / len(loader.slice_set),
               "val_dice": validation_dice(model, val_set)}
        history.append(row)
        if best is None or row["val_dice"] > best[0]["val_dice"]:
            best = (row, model.state_dict())
        print(f"epoch {epoch + 1:>2}/{epochs}  loss {row['loss']:.4f}  val Dice "
              f"{row['val_dice']:.3f}{'  (best)' if best[0] is row else ''}  "
              f"{time.perf_counter() - started:.1f} s")
    return history, best[1]
'''),
        markdown(r"""
Train: the engine's `UNet` module, with every convolution, pooling, up-convolution and
concatenation running your code (`plug_in`), your losses and your Adam, on the real slices.
"""),
        demo("""
mt.manual_seed(0)
model = UNet(base_filters=BASE_FILTERS, depth=DEPTH)
loader.set_epoch(0)
started = time.perf_counter()
with plug_in(**my_layers):
    history, best_state = fit(model, loader, val_set, EPOCHS)
best = max(history, key=lambda row: row["val_dice"])
print(f"trained in {time.perf_counter() - started:.0f} s; best validation Dice "
      f"{best['val_dice']:.3f} at epoch {best['epoch']} ({val_set.patients[0]})")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
left.plot([r["epoch"] for r in history], [r["loss"] for r in history], marker=".")
left.set(xlabel="epoch", ylabel="loss", title="training loss (0.5 BCE + 0.5 soft Dice)")
right.plot([r["epoch"] for r in history], [r["val_dice"] for r in history], marker=".",
           color="tab:green")
right.plot(best["epoch"], best["val_dice"], "r*", markersize=12, label="kept")
right.set(xlabel="epoch", ylabel="Dice", ylim=(0, 1), title="validation Dice (volume)")
right.legend()
plt.show()

model.load_state_dict(best_state)
model.eval()
with mt.no_grad():
    probabilities = model.probabilities(Tensor(val_set.images)).data
shown = np.argsort(val_set.masks.reshape(len(val_set), -1).sum(axis=1))[-4:]
fig, axes = plt.subplots(1, 4, figsize=(11, 2.9))
for ax, i in zip(axes, shown):
    ax.imshow(val_set.images[i, 0], cmap="gray")
    ax.contour(val_set.masks[i, 0], levels=[0.5], colors="lime", linewidths=1)
    ax.contour(probabilities[i, 0], levels=[0.5], colors="red", linewidths=1)
    ax.set_title(f"slice {val_set.slice_index[i]}", fontsize=9)
    ax.axis("off")
fig.suptitle("Validation slices with the most tumour: truth (green), prediction (red)",
             fontsize=9)
plt.show()
"""),
        markdown(r"""
The validation Dice swings from epoch to epoch (one patient, 23 slices: a few slices
flipping across the threshold move it a lot), and it falls again late in the run, as the
network starts to fit the two training patients' particulars: that is why the best epoch
is kept rather than the last. Batch size matters too: with batches of 8 the same run
stays near 0.4, and its predictions come out striped, every other row below the
threshold, a pattern of the 2×2 transposed convolutions that training had not yet
smoothed away.

The same loop, with checkpoints every epoch and exact resume, is the package's command
line (it uses the engine's faster kernels):

    python -m minitorch_unet train --out runs/quick --image-size 64 --depth 3 --base-filters 8 --epochs 20 --seed 1

With its defaults (`python -m minitorch_unet train --out runs/default`) it trains the
`FULL_RUN` network.

**On all 98 patients.** The project's shipped model (`UNet.pretrained()`, lesson 11) is
this recipe at the command line's defaults, with batches of 8, trained on the 98 LGG
patients the project has (3,534 slices) for 12 epochs and then 12 more with the cosine
schedule stretched to 24 (the learning rate starts again from half its first value): the
24 epochs took 2 h 47 min on a 2-core CPU shared with other work (about 2 h 10 min on one
free core). A patient-level cross-validation of the same recipe at 64×64 (5 folds of 58
training patients) gives a mean per-patient Dice of 0.72 (95% interval 0.67 to 0.76) on
patients each model never saw, median 0.79; 12 epochs alone gave 0.68. At 128×128, the
shipped size, the same cross-validation gives 0.701 (0.654 to 0.745), median 0.773. Buda et al.
(2019) report 0.82 with 110 patients at 256×256. Its model card,
`minitorch_unet/weights/MODEL_CARD.md`, has the commands and the numbers.

**Summary.** Momentum sums past gradients so that steady directions speed up and
oscillations cancel; Adam divides a running mean of the gradient by the root of a running
mean of its square, with bias correction, so every weight moves at about the learning
rate. Split patients, not slices; augment the training slices; after every epoch measure
the validation Dice and keep the best weights. Next: the same training at full size, on a
GPU.
"""),
    ]
