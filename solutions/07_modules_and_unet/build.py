"""Writes 07_modules_and_unet.ipynb, the solution notebook of lesson 07 (modules and the U-Net)."""
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
# 07 · Modules and the U-Net

Lessons 03-06 gave you the U-Net's layers as functions. A network is those functions plus
a few hundred thousand to a few million numbers, its **parameters**, that training will
change. This lesson organises them the way PyTorch does:

1. `Parameter` and `Module`: layers that own their weights;
2. how those weights start (PyTorch's default initialisation, and why $1/\sqrt{\text{fan\_in}}$);
3. the U-Net assembled from modules, running on **your** layers;
4. the shapes through it, how many parameters it has (exercise), and how much of the image
   one output pixel can see, its receptive field (exercise).
"""),
        code("""
import matplotlib.pyplot as plt
import numpy as np

import minitorch_unet as mt
from minitorch_unet import Tensor, functional as F, nn
from minitorch_unet.checks import check
from minitorch_unet.course import plug_in, use_own_or_reference
from minitorch_unet.unet import UNet as EngineUNet

my_layers = {
    "conv2d": use_own_or_reference("check_conv2d", F.conv2d),
    "max_pool2d": use_own_or_reference("check_max_pool2d", F.max_pool2d),
    "conv_transpose2d": use_own_or_reference("check_conv_transpose2d", F.conv_transpose2d),
    "cat": use_own_or_reference("check_cat", F.cat),
}
mt.manual_seed(0)
"""),
        markdown(r"""
## 1 · Parameters and modules

A `Parameter` is a `Tensor` with `requires_grad=True`: a number the optimiser will update.
A `Module` is a layer that keeps its parameters (and sub-modules) as attributes and
computes its output in `forward`. Because the module can find every parameter by walking
its attributes, you get for free:

* `parameters()`: the list the optimiser updates;
* `state_dict()`: every parameter and buffer by name, to save and load (the names are
  PyTorch's, so weights move between the two);
* `train()` / `eval()`: batch norm uses the batch's statistics while training and its
  running averages (**buffers**: saved, but not trained) when evaluating.
"""),
        code('''
class ConvBlock(nn.Module):
    """conv 3x3 -> batch norm -> ReLU: (N, c_in, H, W) -> (N, c_out, H, W)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))
'''),
        code("""
# NBVAL_CHECK_OUTPUT
block = ConvBlock(1, 4)
for name, p in block.named_parameters():
    print(f"parameter {name:<12} {p.shape}")
print("state_dict:", list(block.state_dict()))
print("output:", block(mt.randn(2, 1, 8, 8)).shape)
"""),
        markdown(r"""
The convolution has no bias: batch norm subtracts each channel's mean right after it,
which would cancel any bias, and adds its own learned shift $\beta$ (`bn.bias`) instead.

## 2 · How the weights start: $1/\sqrt{\text{fan\_in}}$

One output value of a layer sums $n$ products, $y = \sum_{j=1}^{n} w_j x_j$, where
$n = \text{fan\_in} = C_{in} k_h k_w$ for a convolution. With independent, zero-mean
weights,

$$\operatorname{Var}(y) = n \operatorname{Var}(w)\, \mathbb{E}[x^2].$$

If $\operatorname{Var}(w)$ did not shrink with $n$, a wide layer's outputs would be huge
and the next layer's larger still. PyTorch's default draws
$w \sim \mathcal{U}(-b, b)$ with $b = 1/\sqrt{\text{fan\_in}}$ (its `kaiming_uniform_` with
$a = \sqrt 5$ reduces to that), so $\operatorname{Var}(w) = b^2/3 = 1/(3n)$ and
$\operatorname{Var}(y) = \mathbb{E}[x^2]/3$, whatever the width. The bias gets the same bound.

A ReLU then keeps half of a symmetric $y$: $\mathbb{E}[\mathrm{relu}(y)^2] = \operatorname{Var}(y)/2$.
So in a plain stack of conv + ReLU each layer multiplies $\mathbb{E}[x^2]$ by $1/6$: the
signal fades by $\sqrt 6 \approx 2.4$ per layer. He et al. (2015) pick
$\operatorname{Var}(w) = 2/n$ to hold it constant. The U-Net needs neither: **batch norm**
after every convolution rescales each channel to unit variance, whatever the weights did.
Measured on 12 layers of 16 channels (without biases, which would add a floor of their own):
"""),
        demo("""
def rms_through_stack(init: str, batch_norm: bool = False, layers: int = 12) -> list[float]:
    mt.manual_seed(0)
    x = mt.randn(4, 16, 24, 24)
    rms = [float(np.sqrt((x.data ** 2).mean()))]
    with mt.no_grad():
        for _ in range(layers):
            conv = nn.Conv2d(16, 16, 3, padding=1, bias=False)
            fan_in = 16 * 3 * 3
            if init == "He: N(0, 2 / fan_in)":
                conv.weight.data = np.random.default_rng(len(rms)).normal(
                    0, np.sqrt(2 / fan_in), conv.weight.shape).astype(np.float32)
            elif init == "3 x PyTorch's bound":
                conv.weight.data *= 3
            x = conv(x)
            if batch_norm:
                x = nn.BatchNorm2d(16)(x)
            x = F.relu(x)
            rms.append(float(np.sqrt((x.data ** 2).mean())))
    return rms

fig, ax = plt.subplots(figsize=(6.5, 3.4))
for label, init, bn in [("PyTorch default: U(-b, b), b = 1/sqrt(fan_in)", "default", False),
                        ("He: N(0, 2 / fan_in)", "He: N(0, 2 / fan_in)", False),
                        ("3 x PyTorch's bound", "3 x PyTorch's bound", False),
                        ("PyTorch default + batch norm (the U-Net)", "default", True)]:
    ax.semilogy(rms_through_stack(init, bn), marker=".", label=label)
ax.set(xlabel="layer (conv 3x3 + ReLU)", ylabel="RMS of the activations",
       title="The signal through 12 layers, by initialisation")
ax.legend(fontsize=8)
plt.show()
"""),
        markdown(r"""
The default curve falls by about $\sqrt 6$ per layer, He's stays level, three times the
bound grows ($3^2/6 = 1.5$ per layer in $\mathbb{E}[x^2]$), and batch norm holds the signal
at the same level whatever the weights. Gradients flow back through the same layers and
fade or blow up the same way, which is why initialisation matters for training.

## 3 · The U-Net, module by module

Each level of the **encoder** is a double convolution, `(conv 3x3 → batch norm → ReLU) x 2`,
whose output is kept for later (the skip) before a 2×2 max pool halves the size. The
**bottleneck** is one more double convolution. Each level of the **decoder** doubles the size
with a 2×2 transposed convolution (stride 2), concatenates the kept encoder map along the
channels, and applies a double convolution. A 1×1 convolution, the **head**, turns the
$w_0$ channels into one logit per pixel. The channel counts double on the way down:
$w_i = w_0 2^i$ at level $i$ ($w_0$ = `base_filters`).

The attribute names below are the engine's (and those a PyTorch twin would use), so the
two can swap weights. `F.max_pool2d` and `F.cat` are whatever is plugged in: inside
`plug_in(...)`, your functions.
"""),
        code('''
def double_conv(c_in: int, c_out: int) -> nn.Sequential:
    """(conv 3x3 -> batch norm -> ReLU) x 2: (N, c_in, H, W) -> (N, c_out, H, W)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU())


class UNet(nn.Module):
    """x: (N, in_channels, H, W) -> logits (N, 1, H, W); H and W multiples of 2**depth."""

    def __init__(self, in_channels: int = 1, base_filters: int = 32, depth: int = 4) -> None:
        super().__init__()
        self.depth = depth
        widths = [base_filters * 2 ** i for i in range(depth + 1)]
        for i in range(depth):
            setattr(self, f"enc{i + 1}",
                    double_conv(in_channels if i == 0 else widths[i - 1], widths[i]))
        self.bottleneck = double_conv(widths[depth - 1], widths[depth])
        for i in reversed(range(depth)):
            setattr(self, f"up{i + 1}", nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2))
            setattr(self, f"dec{i + 1}", double_conv(2 * widths[i], widths[i]))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for level in range(1, self.depth + 1):
            x = getattr(self, f"enc{level}")(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for level in range(self.depth, 0, -1):
            x = getattr(self, f"up{level}")(x)
            x = getattr(self, f"dec{level}")(F.cat([skips[level - 1], x], dim=1))
        return self.head(x)
'''),
        markdown(r"""
Run it on your layers, and load the same weights into the engine's `UNet` (by name: the
`state_dict` is the contract) to see that both compute the same logits:
"""),
        code("""
# NBVAL_CHECK_OUTPUT
mt.manual_seed(0)
unet = UNet(base_filters=4, depth=2)
engine_unet = EngineUNet(base_filters=4, depth=2)
engine_unet.load_state_dict(unet.state_dict())
x = mt.randn(2, 1, 32, 32)
with plug_in(**my_layers):
    logits = unet(x)
same = np.abs(logits.data - engine_unet(x).data).max() < 1e-4
print("logits", logits.shape, "| the engine's U-Net with the same weights agrees:", bool(same))
"""),
        markdown(r"""
## 4 · Shapes through the network

With 'same' padding the convolutions keep the size, each pool halves it and each
transposed convolution doubles it back, so an $H \times W$ input needs $H$ and $W$
divisible by $2^{\text{depth}}$. The course's full-size network (depth 4, 32 base filters,
256×256 slices), drawn the way Ronneberger et al. (2015) drew theirs; each box is one
feature map, labelled channels × size:
"""),
        demo("""
def draw_unet(depth: int = 4, base: int = 32, size: int = 256) -> None:
    widths = [base * 2 ** i for i in range(depth + 1)]
    fig, ax = plt.subplots(figsize=(10, 4.8))
    arrow = dict(arrowstyle="->", lw=1.0)

    def box(x: float, level: int, channels: int, color: str) -> dict[str, float]:
        # one feature map: the height shrinks with its size, the width grows with its channels
        height, width, y = 1.5 * 0.75 ** level, 0.1 + 0.07 * np.log2(channels), -1.3 * level
        ax.add_patch(plt.Rectangle((x, y - height / 2), width, height, color=color, alpha=0.85))
        ax.text(x + width / 2, y - height / 2 - 0.06, f"{channels} x {size >> level}²",
                ha="center", va="top", fontsize=7)
        return {"left": x, "right": x + width, "top": y + height / 2, "bottom": y - height / 2,
                "y": y}

    encoders, x = [], 0.0
    for level in range(depth):
        encoders.append(box(x, level, widths[level], "tab:blue"))
        x = encoders[-1]["right"] + 0.25
    below = box(x, depth, widths[depth], "tab:purple")
    chain = [*encoders, below]
    for upper, lower in zip(chain, chain[1:]):
        ax.annotate("", xy=(lower["left"], lower["top"]), xytext=(upper["right"], upper["bottom"]),
                    arrowprops=arrow)
    x = below["right"] + 0.25
    for level in range(depth - 1, -1, -1):
        dec = box(x, level, widths[level], "tab:orange")
        ax.annotate("", xy=(dec["left"], dec["bottom"]), xytext=(below["right"], below["top"]),
                    arrowprops=dict(arrow, color="tab:green"))
        ax.annotate("", xy=(dec["left"], dec["y"]), xytext=(encoders[level]["right"], dec["y"]),
                    arrowprops=dict(arrow, color="grey", linestyle="--"))
        below, x = dec, dec["right"] + 0.25
    head = box(x, 0, 1, "tab:red")
    ax.annotate("", xy=(head["left"], head["y"]), xytext=(below["right"], below["y"]),
                arrowprops=dict(arrow, color="tab:red"))
    for label, color in [("encoder: 2 convs", "tab:blue"), ("bottleneck: 2 convs", "tab:purple"),
                         ("decoder: cat + 2 convs", "tab:orange"), ("1x1 head: logits", "tab:red")]:
        ax.plot([], [], "s", color=color, label=label)
    for label, color, style in [("max pool 2x2: size / 2", "black", "-"),
                                ("transposed conv 2x2: size x 2", "tab:green", "-"),
                                ("skip: copy, then cat", "grey", "--")]:
        ax.plot([], [], color=color, ls=style, lw=1.0, label=label)
    ax.legend(loc="lower right", fontsize=7, ncol=2)
    ax.set_xlim(-0.1, head["right"] + 0.1)
    ax.set_ylim(-1.3 * depth - 0.8, 1.0)
    ax.axis("off")
    ax.set_title(f"U-Net: depth {depth}, {base} base filters, {size}x{size} input "
                 "(boxes: channels x size)", fontsize=10)
    plt.show()

draw_unet()
"""),
        markdown(r"""
The engine's `summary` lists the same shapes, with each block's parameter count, for a
small network:
"""),
        code("""
# NBVAL_CHECK_OUTPUT
print(EngineUNet(base_filters=8, depth=3).summary(64))
"""),
        markdown(r"""
## 5 · Counting the parameters

Count what each layer trains, with $w_i = w_0 2^i$ and $c$ = `in_channels`:

| layer | trained values |
|---|---|
| conv $k \times k$, $C_{in} \to C_{out}$, no bias | $C_{out}\, C_{in}\, k^2$ |
| batch norm over $C$ channels | $2C$ ($\gamma$ and $\beta$; the running mean and variance are buffers) |
| transposed conv 2×2, $C_{in} \to C_{out}$, with bias | $4 C_{in} C_{out} + C_{out}$ |
| 1×1 head, $w_0 \to 1$, with bias | $w_0 + 1$ |

A double convolution $C_{in} \to C_{out}$ thus trains $9 C_{out}(C_{in} + C_{out}) + 4 C_{out}$;
encoder level $i$ takes $C_{in} = w_{i-1}$ ($c$ at level 0), the bottleneck $w_{d-1} \to w_d$,
and decoder level $i$ takes $2 w_i \to w_i$: the concatenation doubles its input.

### Exercise 1: `count_parameters`

Write the count as a formula (loops over the levels are fine; building a network is not).
"""),
        exercise("count_parameters", '''
def count_parameters(depth: int, base_filters: int, in_channels: int = 1) -> int:
    """Trained parameters of the course U-Net (same padding, batch norm, one output channel)."""
    ### BEGIN SOLUTION
    widths = [base_filters * 2 ** i for i in range(depth + 1)]
    total = widths[0] + 1                                                # the 1x1 head
    for i in range(depth + 1):                                           # encoder + bottleneck
        c_in = in_channels if i == 0 else widths[i - 1]
        total += 9 * widths[i] * (c_in + widths[i]) + 4 * widths[i]
    for i in range(depth):                                               # decoder
        total += 4 * widths[i + 1] * widths[i] + widths[i]               # transposed conv
        total += 9 * widths[i] * (2 * widths[i] + widths[i]) + 4 * widths[i]
    return total
    ### END SOLUTION
'''),
        graded("check_count_parameters", "count_parameters"),
        markdown(r"""
Against an actual network, and where the parameters sit: the deepest levels, where
$w_i^2$ is largest, hold most of them.
"""),
        demo("""
full = UNet(base_filters=32, depth=4)
print(f"count_parameters(4, 32) = {count_parameters(4, 32):,}; "
      f"the module holds {full.num_parameters():,}")
blocks = [name for name, _ in full.named_children()]
counts = [getattr(full, name).num_parameters() for name in blocks]
fig, ax = plt.subplots(figsize=(7, 2.8))
ax.bar(blocks, counts, color=["tab:blue"] * 4 + ["tab:purple"] + ["tab:green", "tab:orange"] * 4
       + ["tab:red"])
ax.set(ylabel="parameters", title="Parameters per block (depth 4, 32 base filters)")
ax.tick_params(axis="x", labelsize=7, rotation=45)
plt.show()
"""),
        markdown(r"""
## 6 · The receptive field

One output pixel of a $k \times k$ convolution sees $k \times k$ input pixels. Stack a second
3×3 convolution and one of its pixels sees 3 pixels of the first layer's output, which
together see $3 + 2 = 5$ input pixels: each layer widens the field by $k - 1$. A layer
after a stride-$s$ layer (a pooling) steps $s$ input pixels per pixel, so its $k - 1$
counts $s$ times, and strides multiply. For layers $l = 1 \ldots L$ with kernel $k_l$ and
stride $s_l$, from the input on, the width of the receptive field is

$$r = 1 + \sum_{l=1}^{L} (k_l - 1) \prod_{j < l} s_j .$$

### Exercise 2: `receptive_field`
"""),
        exercise("receptive_field", '''
def receptive_field(layers: list[tuple[int, int]]) -> int:
    """layers: (kernel, stride) of each layer from the input on -> width of one output pixel's field."""
    ### BEGIN SOLUTION
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field
    ### END SOLUTION
'''),
        graded("check_receptive_field", "receptive_field"),
        markdown(r"""
The U-Net's encoder is `[(3, 1), (3, 1), (2, 2)]` per level, then the bottleneck's two
convolutions. One bottleneck pixel sees:
"""),
        code("""
# NBVAL_CHECK_OUTPUT
def encoder_layers(depth: int) -> list[tuple[int, int]]:
    return [(3, 1), (3, 1), (2, 2)] * depth + [(3, 1), (3, 1)]

for depth in range(1, 6):
    print(f"depth {depth}: a bottleneck pixel sees {receptive_field(encoder_layers(depth))} "
          "input pixels across")
"""),
        markdown(r"""
That is $9 \cdot 2^d - 4$: at depth 4, 140 pixels, more than half of a 256-pixel slice.
This is what the depth buys: the decoder combines the bottleneck's wide view (is this
region tumour?) with the skips' sharp one (where exactly is its edge?).

You can see the field: back-propagate from one bottleneck pixel to the input. The gradient
is non-zero exactly on the pixels that pixel depends on (evaluation mode, so that batch
norm uses fixed statistics and does not mix pixels). For a depth-2 network the field is
$9 \cdot 4 - 4 = 32$ pixels wide; one pixel of the full U-Net's **output** depends on a
wider region still, since its path also goes down to the bottleneck and back up.
"""),
        demo("""
mt.manual_seed(0)
small = UNet(base_filters=4, depth=2).eval()
image = Tensor(np.random.default_rng(0).normal(size=(1, 1, 64, 64)).astype(np.float32),
               requires_grad=True)
x = image
for level in (1, 2):
    x = F.max_pool2d(getattr(small, f"enc{level}")(x), 2)
bottleneck = small.bottleneck(x)
pick = np.zeros(bottleneck.shape, np.float32)
pick[0, :, 8, 8] = 1                            # all channels: a ReLU may zero some of them
bottleneck.backward(Tensor(pick))
seen = np.abs(image.grad.data[0, 0]) > 0
rows, cols = np.flatnonzero(seen.any(1)), np.flatnonzero(seen.any(0))
print(f"bottleneck pixel (8, 8): gradient non-zero on rows {rows[0]}..{rows[-1]}, "
      f"columns {cols[0]}..{cols[-1]}: {rows[-1] - rows[0] + 1} x {cols[-1] - cols[0] + 1} pixels")

image.grad = None
out = small(image)
pick = np.zeros(out.shape, np.float32)
pick[0, 0, 32, 32] = 1
out.backward(Tensor(pick))
fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
axes[0].imshow(seen, cmap="magma")
axes[0].set_title("bottleneck pixel (8, 8)", fontsize=9)
axes[1].imshow(np.abs(image.grad.data[0, 0]) > 0, cmap="magma")
axes[1].set_title("output pixel (32, 32)", fontsize=9)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Input pixels with a non-zero gradient (depth-2 U-Net, 64x64 input)", fontsize=10)
plt.show()
"""),
        markdown(r"""
**Summary.** A `Module` owns `Parameter`s and sub-modules; from its attributes come
`parameters()`, `state_dict()` (PyTorch's names) and the train/eval switch. Weights start
in $\pm 1/\sqrt{\text{fan\_in}}$ so that layers keep the signal's scale; batch norm does the
rest. The U-Net is a handful of double convolutions, pools, transposed convolutions and
concatenations; its parameters sit mostly at the bottom, where the channels are widest, and
its depth sets how far one pixel sees: $9 \cdot 2^d - 4$ pixels at the bottleneck. Next:
what to minimise, the losses.
"""),
    ]
