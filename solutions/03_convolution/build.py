"""Writes 03_convolution.ipynb, the solution notebook of lesson 03 (convolution)."""
from __future__ import annotations

from nbformat import NotebookNode

from minitorch_unet.course import code, exercise, graded, markdown


def demo(source: str) -> NotebookNode:
    """A cell that only shows things (a picture, a timing)."""
    return code(source, tags=["demo"])


def cells() -> list[NotebookNode]:
    """The notebook's cells, in order."""
    return [
    markdown(r"""
# 03 · Convolution

A U-Net is mostly convolutions: a small kernel of weights slides over the image and, at
every position, takes a weighted sum of the pixels under it. In this lesson you write
`conv2d` twice, the second much faster, and then its gradient:

1. with plain loops, to see exactly what it computes;
2. with **im2col**: all windows gathered into one matrix, so the whole layer is one matrix product;
3. its **backward** (col2im), wrapped with the forward as a `Function`, so autograd can train it.

At the end your `conv2d` runs inside the engine's U-Net.
"""),
    code("""
import time

import matplotlib.pyplot as plt
import numpy as np

import minitorch_unet as mt
from minitorch_unet import Function, Tensor, functional as F
from minitorch_unet.checks import check
from minitorch_unet.unet import UNet

mt.manual_seed(0)
rng = np.random.default_rng(0)
"""),
    markdown(r"""
## 1 · What a convolution computes

Input $x$ of shape $(N, C, H, W)$, weight $w$ of shape $(O, C, k_h, k_w)$, bias $b$ of
shape $(O,)$. With stride $s$ and $p$ zeros of padding on every side ($x^{pad}$):

$$y_{n,o,i,j} \;=\; b_o + \sum_{c=0}^{C-1} \sum_{a=0}^{k_h-1} \sum_{b'=0}^{k_w-1}
x^{pad}_{n,\,c,\;s i + a,\;s j + b'}\; w_{o,c,a,b'}$$

Each output channel $o$ has its own kernel spanning **all** input channels. The output size:

$$H_{out} = \left\lfloor \frac{H + 2p - k_h}{s} \right\rfloor + 1
\qquad W_{out} = \left\lfloor \frac{W + 2p - k_w}{s} \right\rfloor + 1$$

(the $+1$ counts the first window, at position 0).

Mathematicians would flip the kernel ($w_{o,c,k_h-1-a,\,k_w-1-b'}$) and call that a
convolution; deep learning does **not** flip: strictly, `conv2d` is a *cross-correlation*.
A learned kernel does not care, but your numbers must match PyTorch's, so: no flip.
"""),
    markdown(r"""
### Exercise 1: `conv2d_naive`

Loop over the batch, the output channels and the output pixels; for each, multiply the
window by the kernel and sum. Pad first with `np.pad`. NumPy arrays in, a NumPy array out.
"""),
    exercise("conv2d_naive", '''
def conv2d_naive(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                 stride: int = 1, padding: int = 0) -> np.ndarray:
    """x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) or None -> (N, O, Ho, Wo)."""
    ### BEGIN SOLUTION
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for item in range(n):
        for channel in range(o):
            for i in range(ho):
                for j in range(wo):
                    window = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, channel, i, j] = np.sum(window * weight[channel])
            if bias is not None:
                out[item, channel] += bias[channel]
    return out
    ### END SOLUTION
'''),
    graded("check_conv2d_naive", "conv2d_naive"),
    markdown(r"""
A kernel is a pattern detector. The one below answers "is it brighter on the right than on
the left?": a vertical-edge detector. On a bright disc it lights up on one side (positive)
and goes dark on the other (negative).
"""),
    demo("""
yy, xx = np.mgrid[:24, :24]
disc = ((yy - 11.5) ** 2 + (xx - 11.5) ** 2 < 60).astype(np.float32)[None, None]
edge = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)[None, None]
response = conv2d_naive(disc, edge, padding=1)

fig, axes = plt.subplots(1, 3, figsize=(8, 2.6))
for ax, (title, image) in zip(axes, [("input", disc[0, 0]), ("kernel", edge[0, 0]),
                                     ("output", response[0, 0])]):
    ax.imshow(image, cmap="gray" if title == "input" else "coolwarm")
    ax.set_title(title)
    ax.axis("off")
plt.show()
"""),
    markdown(r"""
## 2 · im2col: the whole layer as one matrix product

The loops run $N \cdot O \cdot H_{out} \cdot W_{out}$ small sums in Python: far too slow for
a U-Net. Rewrite the sum: put every window (all $C \cdot k_h \cdot k_w$ of its numbers) in a
row of a matrix $X_{col}$ of shape $(N H_{out} W_{out},\; C k_h k_w)$, and every kernel in a
row of $W_{mat}$, shape $(O,\; C k_h k_w)$. Then

$$Y = X_{col}\, W_{mat}^{\top} + b \qquad (N H_{out} W_{out},\; O)$$

one matrix product, which NumPy hands to a fast BLAS.

**Windows without copying.** An array is a block of memory plus *strides*: how many bytes to
step for +1 along each axis. The window at output pixel $(i, j)$, offset $(a, b)$ sits at
row $s i + a$, column $s j + b$, so a 6-D view of shape $(N, C, H_{out}, W_{out}, k_h, k_w)$
with strides $(S_0, S_1, s S_2, s S_3, S_2, S_3)$ *is* every window, without a copy.
`np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))` builds it safely for
stride 1; slice `[:, :, ::sh, ::sw]` for a stride. Only the final reshape copies.

The picture: a 4×4 image and its nine 2×2 windows (stride 1), one per row.
"""),
    demo("""
image = np.arange(16.0).reshape(1, 1, 4, 4)
windows = np.lib.stride_tricks.sliding_window_view(image, (2, 2), axis=(2, 3))
columns = windows.transpose(0, 2, 3, 1, 4, 5).reshape(9, 4)

fig, axes = plt.subplots(1, 2, figsize=(6, 3), gridspec_kw={"width_ratios": [4, 4]})
for ax, (title, matrix) in zip(axes, [("image (4x4)", image[0, 0]), ("im2col rows (9x4)", columns)]):
    ax.imshow(matrix, cmap="Blues", vmin=-4, vmax=20)
    for (r, c), v in np.ndenumerate(matrix):
        ax.text(c, r, int(v), ha="center", va="center", fontsize=8)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
plt.show()
"""),
    markdown(r"""
### Exercise 2: `im2col`

`x` is already padded. Rows run over $(n, i, j)$ and columns over $(c, a, b)$: that is
`windows.transpose(0, 2, 3, 1, 4, 5).reshape(...)`.
"""),
    exercise("im2col", '''
def im2col(x: np.ndarray, kh: int, kw: int, sh: int, sw: int) -> np.ndarray:
    """x: (N, C, H, W) -> columns (N*Ho*Wo, C*kh*kw), one row per output pixel."""
    ### BEGIN SOLUTION
    n, c = x.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    ho, wo = windows.shape[2:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)
    ### END SOLUTION
'''),
    graded("check_im2col", "im2col"),
    markdown(r"""
## 3 · Backward: col2im

Autograd hands the layer $G = \partial L / \partial Y$ (same shape as the output) and wants
the gradients of the three inputs. From $Y = X_{col} W_{mat}^\top + b$, with $G$ laid out
like $Y$ as $(N H_{out} W_{out}, O)$:

$$\frac{\partial L}{\partial W_{mat}} = G^\top X_{col} \qquad
\frac{\partial L}{\partial b} = \sum_{\text{rows}} G \qquad
\frac{\partial L}{\partial X_{col}} = G\, W_{mat}$$

$\partial L / \partial X_{col}$ is a gradient per *window entry*. A pixel sits in several
windows (wherever they overlap), so its gradient is the **sum** over every window entry it
was copied to. `col2im` does this: the adjoint of im2col, it adds each row back onto the
window it came from. Loop over the $k_h k_w$ kernel offsets (not over pixels): for offset
$(a, b)$, the entries of all windows land on the strided grid
`out[:, :, a : a + sh*Ho : sh, b : b + sw*Wo : sw]`.
"""),
    markdown("### Exercise 3: `col2im`"),
    exercise("col2im", '''
def col2im(cols: np.ndarray, shape: tuple[int, int, int, int], kh: int, kw: int,
           sh: int, sw: int) -> np.ndarray:
    """cols: (N*Ho*Wo, C*kh*kw) -> the sum of every row put back on its window: `shape` (N, C, H, W)."""
    ### BEGIN SOLUTION
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    out = np.zeros(shape, dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] += cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return out
    ### END SOLUTION
'''),
    graded("check_col2im", "col2im"),
    markdown(r"""
## 4 · A `Function` for autograd

A `Function`'s `forward(ctx, *arrays, **params)` gets raw arrays (the tensors' `.data`) and
saves on `ctx` what `backward(ctx, grad)` will need; `backward` returns one gradient per
tensor input, in order. The bias is optional, so forward takes it as `*bias` (empty or one
array) and backward returns two or three gradients.

### Exercise 4: the forward pass

Pad, im2col, one matrix product, add the bias, and reshape $(N H_{out} W_{out}, O)$ back to
$(N, O, H_{out}, W_{out})$. Save the columns, the weight and the padded input's shape.
"""),
    exercise("conv2d_forward", '''
def conv2d_forward(ctx, x: np.ndarray, weight: np.ndarray, *bias: np.ndarray,
                   stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
    """x: (N, C, H, W), weight: (O, C, kh, kw), bias: () or ((O,),) -> (N, O, Ho, Wo)."""
    ### BEGIN SOLUTION
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    if bias:
        out = out + bias[0]
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    ### END SOLUTION
'''),
    markdown(r"""
The `Function` calls your two functions; `conv2d` takes PyTorch's arguments (an int or a
pair for `stride` and `padding`) and applies it.

### Exercise 5: `conv2d`
"""),
    code('''
class Conv2dFunction(Function):
    """conv2d with im2col: forward and backward are your functions."""

    @staticmethod
    def forward(ctx, x: np.ndarray, weight: np.ndarray, *bias: np.ndarray,
                stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
        return conv2d_forward(ctx, x, weight, *bias, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> tuple[np.ndarray, ...]:
        return conv2d_backward(ctx, grad)
'''),
    exercise("conv2d", '''
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0) -> Tensor:
    """input: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) or None -> (N, O, Ho, Wo)."""
    ### BEGIN SOLUTION
    stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
    padding = (padding, padding) if isinstance(padding, int) else tuple(padding)
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return Conv2dFunction.apply(*tensors, stride=stride, padding=padding)
    ### END SOLUTION
'''),
    graded("check_conv2d_forward", "conv2d"),
    markdown(r"""
### Exercise 6: the backward pass

Lay `grad` $(N, O, H_{out}, W_{out})$ out as $G$ $(N H_{out} W_{out}, O)$, then use the three
formulas of section 3. The input's gradient comes back padded: cut `padding` rows and
columns off each side. Return `(grad_x, grad_weight)` plus `grad_bias` if there was a bias.
"""),
    exercise("conv2d_backward", '''
def conv2d_backward(ctx, grad: np.ndarray) -> tuple[np.ndarray, ...]:
    """grad: (N, O, Ho, Wo) -> (grad_x (N, C, H, W), grad_weight (O, C, kh, kw)[, grad_bias (O,)])."""
    ### BEGIN SOLUTION
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grad_x = col2im(g @ ctx.weight.reshape(o, -1), ctx.padded_shape, kh, kw, sh, sw)
    grad_x = grad_x[:, :, ph:ctx.padded_shape[2] - ph, pw:ctx.padded_shape[3] - pw]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return grad_x, grad_weight, g.sum(axis=0)
    return grad_x, grad_weight
    ### END SOLUTION
'''),
    graded("check_conv2d", "conv2d", points=3),
    markdown(r"""
The check compares with PyTorch. `gradcheck` asks a second, independent witness: it nudges
every input entry by $\pm\epsilon$ and compares the change of the output with your backward
(in float64, where finite differences are accurate).
"""),
    code("""
# NBVAL_CHECK_OUTPUT
x = mt.tensor(rng.standard_normal((1, 2, 7, 6)), dtype="float64", requires_grad=True)
w = mt.tensor(rng.standard_normal((3, 2, 3, 3)), dtype="float64", requires_grad=True)
b = mt.tensor(rng.standard_normal(3), dtype="float64", requires_grad=True)
print("gradcheck, stride 2, padding (1, 2):",
      mt.gradcheck(lambda x, w, b: conv2d(x, w, b, stride=2, padding=(1, 2)), x, w, b))
"""),
    markdown(r"""
## 5 · The speed ladder

The same layer three ways: your loops, your im2col, and the engine's fast kernel (for
stride 1 it builds the column matrix a cache-sized block of pixels at a time, from shifted
views of the input, and makes one matrix product per block, so the columns never fill the
memory). Loops are timed on a small layer only; `BIG` sets the second layer's size (a U-Net
layer on a 64×64 patch).
"""),
    demo('''
from typing import Callable


def best_time(fn: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of `repeats` runs of fn(), in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


BIG = (1, 32, 64, 64)  # (N, C, H, W) of the second layer
small_x, small_w = mt.randn(1, 8, 32, 32), mt.randn(8, 8, 3, 3)
big_x, big_w = mt.randn(*BIG), mt.randn(BIG[1], BIG[1], 3, 3)
small, big = "8 ch, 32x32", f"{BIG[1]} ch, {BIG[2]}x{BIG[3]}"
timings = {
    ("loops", small): best_time(lambda: conv2d_naive(small_x.data, small_w.data, padding=1), 1),
    ("im2col", small): best_time(lambda: conv2d(small_x, small_w, padding=1)),
    ("engine", small): best_time(lambda: F.conv2d(small_x, small_w, padding=1)),
    ("im2col", big): best_time(lambda: conv2d(big_x, big_w, padding=1)),
    ("engine", big): best_time(lambda: F.conv2d(big_x, big_w, padding=1)),
}
for (method, layer), ms in timings.items():
    print(f"{method:<7} {layer:<13} {ms:9.2f} ms")

colors = {"loops": "tab:red", "im2col": "tab:blue", "engine": "tab:green"}
fig, ax = plt.subplots(figsize=(7, 3))
ax.bar([f"{method}\\n{layer}" for method, layer in timings], list(timings.values()),
       color=[colors[method] for method, _ in timings])
ax.set_yscale("log")
ax.set_ylabel("forward time (ms, log scale)")
ax.set_title("conv2d 3x3, padding 1, measured on this machine")
plt.show()
'''),
    markdown(r"""
### A rung higher: fewer multiplications (Winograd)

Once a kernel is one large matrix product, it runs near the machine's **peak**: the number of
multiply-adds its cores do per second (measured below with one big product). From there,
the only way up is to do fewer of them. For two outputs of a 3-tap kernel $g$ on four
samples $d$, the direct way takes 6 multiplications; Winograd's $F(2, 3)$ takes 4:

$$m_1 = (d_0 - d_2)\,g_0 \quad m_2 = (d_1 + d_2)\,\tfrac{g_0 + g_1 + g_2}{2} \quad
m_3 = (d_2 - d_1)\,\tfrac{g_0 - g_1 + g_2}{2} \quad m_4 = (d_1 - d_3)\,g_2$$
$$y_0 = m_1 + m_2 + m_3 \qquad y_1 = m_2 - m_3 - m_4$$

The kernel's sums are computed once per layer, the input's are additions. In matrix form
$y = A^\top[(G g) \odot (B^\top d)]$, and nested in two dimensions a 4×4 input tile gives a
2×2 output block with 16 multiplications instead of 36: **2.25× fewer**. Summed over the
input channels, each of the 16 positions of the tile is a matrix product $(O, C) \times (C,
\text{tiles})$, so the products stay large. The engine's `minitorch_unet/winograd.py` does
this for whole layers; it pays where the transforms (passes over memory) cost less than
the multiplications saved: wide layers more than thin ones. Larger tiles save more: with
$F(4{\times}4, 3{\times}3)$ a 6×6 tile gives a 4×4 block from 36 multiplications, where
the direct sum takes 144 (**4× fewer**). Its transforms multiply by up to 8 and divide by
24, so float32 rounds about ten times worse; `minitorch_unet/winograd43.py` uses it for the
U-Net's 16 to 32 pixel layers.

The ladder, each rung as GFLOP/s (the direct convolution's $2\,N O C k_h k_w H_{out} W_{out}$
multiply-adds divided by the time, so that fewer multiplications show as a higher figure),
against the peak of one big matrix product, NumPy's and, where it is installed, PyTorch's
(its kernels may use wider vector instructions than NumPy's):
"""),
    demo('''
import importlib.util
from typing import Callable

from minitorch_unet import fast_conv, winograd, winograd43


def fastest(fn: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of `repeats` runs of fn(), in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def gflops(x: Tensor, w: Tensor, seconds: float) -> float:
    """The direct 3x3 convolution's multiply-adds (padding 1) per second, in GFLOP/s."""
    (n, c, h, wd), o = x.shape, w.shape[0]
    return 2 * n * o * c * 9 * h * wd / seconds / 1e9


peak_a = np.random.default_rng(0).standard_normal((512, 512), dtype=np.float32)
peaks = {"NumPy": 2 * 512 ** 3 / fastest(lambda: peak_a @ peak_a, 10) / 1e9}
lx, lw = mt.randn(1, 4, 16, 16), mt.randn(4, 4, 3, 3)      # loops: a small layer
x, w = mt.randn(2, 64, 32, 32), mt.randn(64, 64, 3, 3)      # the others: a U-Net layer
rungs = {
    "loops": gflops(lx, lw, fastest(lambda: conv2d_naive(lx.data, lw.data, padding=1), 1)),
    "im2col": gflops(x, w, fastest(lambda: conv2d(x, w, padding=1))),
    "shifted products": gflops(x, w, fastest(
        lambda: fast_conv.Conv2dShifted.apply(x, w, padding=(1, 1)))),
    "Winograd 2x2": gflops(x, w, fastest(lambda: winograd.Conv2dWinograd.apply(x, w, padding=(1, 1)))),
    "Winograd 4x4": gflops(x, w, fastest(
        lambda: winograd43.Conv2dWinograd43.apply(x, w, padding=(1, 1)))),
}
if importlib.util.find_spec("torch"):
    import torch
    tx, tw, ta = torch.from_numpy(x.data), torch.from_numpy(w.data), torch.from_numpy(peak_a)
    rungs["PyTorch"] = gflops(x, w, fastest(lambda: torch.nn.functional.conv2d(tx, tw, padding=1)))
    peaks["PyTorch"] = 2 * 512 ** 3 / fastest(lambda: ta @ ta, 10) / 1e9
for name, rate in rungs.items():
    print(f"{name:<17} {rate:9.3g} GFLOP/s")
for name, rate in peaks.items():
    print(f"{'peak, ' + name:<17} {rate:9.3g} GFLOP/s (one 512x512 matrix product)")

fig, ax = plt.subplots(figsize=(7, 3))
ax.bar(list(rungs), list(rungs.values()), color="tab:blue")
for (name, rate), style in zip(peaks.items(), ["--", ":"]):
    ax.axhline(rate, color="tab:red", linestyle=style, label=f"peak: one big matmul ({name})")
ax.set_yscale("log")
ax.set_ylabel("GFLOP/s (log scale)")
ax.set_title("conv2d 3x3 forward, 64 channels, 32x32, batch 2")
ax.legend()
plt.show()
'''),
    markdown(r"""
### Optional exercise: one Winograd tile

Write `winograd_tile(d, g)`: for C channels, a 4×4 input tile each, `d` of shape
$(C, 4, 4)$, and a 3×3 kernel each, `g` of shape $(C, 3, 3)$, return the 2×2 output block

$$Y = A^\top \Big[\sum_{c} (G\, g_c\, G^\top) \odot (B^\top d_c\, B)\Big] A$$

with the matrices below (`B_T` is $B^\top$, `A_T` is $A^\top$). The check cuts tiles out of
PyTorch's convolutions and compares. Count the products: 16 per channel, where the
direct sum takes 36.
"""),
    code("""
B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)
"""),
    exercise("winograd_tile", '''
def winograd_tile(d: np.ndarray, g: np.ndarray) -> np.ndarray:
    """d: (C, 4, 4) input tiles, g: (C, 3, 3) kernels -> (2, 2) output block."""
    ### BEGIN SOLUTION
    u = G @ g @ G.T          # (C, 4, 4): the kernel, transformed (once per layer)
    v = B_T @ d @ B_T.T      # (C, 4, 4): the tile, transformed (additions only)
    return A_T @ (u * v).sum(axis=0) @ A_T.T
    ### END SOLUTION
'''),
    graded("check_winograd_tile", "winograd_tile"),
    markdown(r"""
## 6 · Your layer inside the U-Net

`F.override(conv2d=conv2d)` makes every convolution of the engine call yours. A small
U-Net gives the same output both ways:
"""),
    code("""
# NBVAL_CHECK_OUTPUT
model = UNet(base_filters=4, depth=2).eval()
image = mt.randn(1, 1, 32, 32)
with mt.no_grad():
    engine_output = model(image)
    with F.override(conv2d=conv2d):
        my_output = model(image)
print("same output as the engine's:", bool(np.abs(my_output.data - engine_output.data).max() < 1e-5))
"""),
    markdown(r"""
**Summary.** A convolution is a weighted sum over sliding windows (no kernel flip);
$H_{out} = \lfloor (H + 2p - k)/s \rfloor + 1$; im2col turns the layer into one matrix
product, col2im (its adjoint, a *sum* over overlapping windows) gives the input's gradient.
To use your layer anywhere: `with F.override(conv2d=conv2d): ...`
"""),
    ]
