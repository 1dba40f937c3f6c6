"""Writes 04_max_pooling.ipynb, the solution notebook of lesson 04 (max pooling)."""
from __future__ import annotations

from nbformat import NotebookNode

from minitorch_unet.course import code, exercise, graded, markdown


def demo(source: str) -> NotebookNode:
    """A cell that only shows things (a picture)."""
    return code(source, tags=["demo"])


def cells() -> list[NotebookNode]:
    """The notebook's cells, in order."""
    return [
        markdown(r"""
# 04 · Max pooling

On its way down, the U-Net halves the image size four times with **max pooling**: each
2×2 window is replaced by its largest value. The layer has no weights; it keeps the
strongest response of each neighbourhood and makes the next convolutions see a wider area.

$$y_{n,c,i,j} = \max_{0 \le a < k_h,\; 0 \le b < k_w} x^{pad}_{n,\,c,\;s i + a,\;s j + b}$$

The output size follows the convolution's rule, $H_{out} = \lfloor (H + 2p - k)/s \rfloor + 1$,
with two differences: the stride **defaults to the kernel size** (windows side by side), and
the padding is $-\infty$, not 0, so that it never wins a maximum.

You reuse your `im2col` and `col2im` from lesson 03 (or the engine's, if yours are not
finished: the first cell says which).
"""),
        code("""
import matplotlib.pyplot as plt
import numpy as np

import minitorch_unet as mt
from minitorch_unet import Function, Tensor, convolution, functional as F
from minitorch_unet.checks import check
from minitorch_unet.course import plug_in, use_own_or_reference
from minitorch_unet.unet import UNet

im2col = use_own_or_reference("check_im2col", convolution.im2col)
col2im = use_own_or_reference("check_col2im", convolution.col2im)
mt.manual_seed(0)
rng = np.random.default_rng(0)
"""),
        markdown(r"""
## 1 · Forward: windows and their maxima

Pooling works on each channel alone. Fold the channels into the batch,
$(N, C, H, W) \to (N C, 1, H, W)$, and `im2col` gives one row per output value holding its
window's $k_h k_w$ numbers: the output is the maximum of each row. Keep **which** entry was
the maximum (`argmax`): the backward pass needs it. On ties `argmax` returns the first
one, as PyTorch does.

### Exercise 1: the forward pass
"""),
        exercise("max_pool2d_forward", '''
def max_pool2d_forward(ctx, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                       padding: tuple[int, int]) -> np.ndarray:
    """x: (N, C, H, W) -> (N, C, Ho, Wo), the maximum of each window."""
    ### BEGIN SOLUTION
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = im2col(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)
    ### END SOLUTION
'''),
        markdown(r"""
### Exercise 2: `max_pool2d`

PyTorch's signature: `kernel_size`, `stride` and `padding` are ints or pairs, and
`stride=None` means `stride = kernel_size`.
"""),
        code('''
class MaxPool2dFunction(Function):
    """Max pooling: forward and backward are your functions."""

    @staticmethod
    def forward(ctx, x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                padding: tuple[int, int]) -> np.ndarray:
        return max_pool2d_forward(ctx, x, kernel, stride, padding)

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> np.ndarray:
        return max_pool2d_backward(ctx, grad)
'''),
        exercise("max_pool2d", '''
def max_pool2d(input: Tensor, kernel_size: int | tuple[int, int],
               stride: int | tuple[int, int] | None = None,
               padding: int | tuple[int, int] = 0) -> Tensor:
    """input: (N, C, H, W) -> (N, C, Ho, Wo)."""
    ### BEGIN SOLUTION
    def pair(value):
        return (value, value) if isinstance(value, int) else tuple(value)
    kernel = pair(kernel_size)
    return MaxPool2dFunction.apply(input, kernel=kernel,
                                   stride=kernel if stride is None else pair(stride),
                                   padding=pair(padding))
    ### END SOLUTION
'''),
        graded("check_max_pool2d_forward", "max_pool2d"),
        markdown(r"""
## 2 · Backward: route the gradient to the maximum

Within a window, $y = x_{a^*}$ where $a^*$ is the argmax; nudging any other entry does not
change $y$. So $\partial y / \partial x$ is 1 at the argmax and 0 elsewhere: the whole
gradient of an output goes to **its window's maximum**, nothing to the rest:

$$\frac{\partial L}{\partial x_{p}} \;=\; \sum_{\text{windows } (i,j) \text{ whose argmax is } p}
\frac{\partial L}{\partial y_{i,j}}$$

The sum matters when windows overlap (stride < kernel): an input that is the maximum of two
windows receives both gradients. That is exactly what `col2im` does: put each output's
gradient in its row at the argmax column (zeros elsewhere), then `col2im` adds the rows
back onto the image.

### Exercise 3: the backward pass
"""),
        exercise("max_pool2d_backward", '''
def max_pool2d_backward(ctx, grad: np.ndarray) -> np.ndarray:
    """grad: (N, C, Ho, Wo) -> the input's gradient (N, C, H, W)."""
    ### BEGIN SOLUTION
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw), dtype=grad.dtype)
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = grad.reshape(-1)
    grad_x = col2im(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return grad_x[:, :, ph:hp - ph, pw:wp - pw]
    ### END SOLUTION
'''),
        graded("check_max_pool2d", "max_pool2d", points=2),
        markdown(r"""
The picture: a 4×4 input, 2×2 windows (one colour each). The maximum of each window is
circled; backward sends each output's gradient (right) to that one pixel and zeros to the
other three.
"""),
        demo("""
x = mt.tensor(rng.permutation(16).reshape(1, 1, 4, 4).astype(np.float32), requires_grad=True)
y = max_pool2d(x, 2)
grad_out = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], np.float32)
y.backward(mt.tensor(grad_out))

fig, axes = plt.subplots(1, 3, figsize=(9, 3))
panels = [("input x (maxima circled)", x.data[0, 0]), ("output y = max_pool2d(x, 2)", y.data[0, 0]),
          ("x.grad (grad_out = 1, 2, 3, 4)", x.grad.data[0, 0])]
window = np.kron(np.arange(4).reshape(2, 2), np.ones((2, 2)))
for ax, (title, image) in zip(axes, panels):
    ax.imshow(window if image.shape == (4, 4) else np.arange(4).reshape(2, 2), cmap="Pastel1",
              vmin=0, vmax=8)
    for (r, c), v in np.ndenumerate(image):
        ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=12)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
for r, c in zip(*np.nonzero(x.grad.data[0, 0])):
    axes[0].add_patch(plt.Circle((c, r), 0.35, fill=False, lw=2))
plt.show()
"""),
        markdown(r"""
Ties go to the first maximum in the window (row by row), as `argmax` and PyTorch do:
"""),
        code("""
# NBVAL_CHECK_OUTPUT
x = mt.tensor(np.ones((1, 1, 2, 2), np.float32), requires_grad=True)
max_pool2d(x, 2).backward(mt.tensor(np.ones((1, 1, 1, 1), np.float32)))
print(x.grad.data[0, 0])
"""),
        markdown(r"""
## 3 · Your layer inside the U-Net

`F.override(max_pool2d=max_pool2d)` makes the engine's U-Net pool with your function
(`plug_in` is the same, and leaves the engine's own function alone if yours was not used).
Outputs and gradients agree:
"""),
        code("""
# NBVAL_CHECK_OUTPUT
model = UNet(base_filters=4, depth=2).eval()
image = mt.randn(1, 1, 32, 32)
engine_output = model(image)
engine_output.sum().backward()
engine_grad = model.enc1[0].weight.grad.data.copy()
model.zero_grad()
with plug_in(max_pool2d=max_pool2d):
    my_output = model(image)
    my_output.sum().backward()
print("same output:", bool(np.abs(my_output.data - engine_output.data).max() < 1e-5),
      "| same gradient:", bool(np.abs(model.enc1[0].weight.grad.data - engine_grad).max() < 1e-4))
"""),
        markdown(r"""
**Summary.** Max pooling keeps each window's maximum ($-\infty$ padding, stride = kernel by
default); its gradient goes to that maximum only (the first, on ties), and overlapping
windows add up. To use your layer anywhere: `with F.override(max_pool2d=max_pool2d): ...`
"""),
    ]
