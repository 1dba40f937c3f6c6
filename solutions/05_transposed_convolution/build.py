"""Writes 05_transposed_convolution.ipynb, the solution notebook of lesson 05."""
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
# 05 · Transposed convolution

On its way up, the U-Net doubles the image size four times with a **transposed
convolution** (an "up-convolution"): a layer with learned weights that makes an image
*larger*. It is no new idea: it is exactly the backward pass of `conv2d` with respect to
its input, which you wrote in lesson 03, used as a forward layer.

Each input pixel scatters a copy of the kernel, scaled by its value, onto the output;
copies that overlap add up. With stride $s$ and padding $p$ (cut off the border):

$$y_{n,o,\;s i + a - p,\;s j + b - p} \mathrel{+}= x_{n,c,i,j}\; w_{c,o,a,b}
\qquad (\text{then } y_{n,o} \mathrel{+}= b_o)$$

Note the weight's layout: $(C_{in}, C_{out}, k_h, k_w)$, **in** channels first, the
opposite of `conv2d`'s. It is the layout of the `conv2d` whose gradient this is.

This lesson reuses your `conv2d`, `im2col` and `col2im` from lesson 03 (or the engine's).
"""),
        code("""
import matplotlib.pyplot as plt
import numpy as np

import minitorch_unet as mt
from minitorch_unet import Function, Tensor, convolution, functional as F
from minitorch_unet.checks import check
from minitorch_unet.course import plug_in, use_own_or_reference
from minitorch_unet.unet import UNet

conv2d = use_own_or_reference("check_conv2d", F.conv2d)
im2col = use_own_or_reference("check_im2col", convolution.im2col)
col2im = use_own_or_reference("check_col2im", convolution.col2im)
mt.manual_seed(0)
rng = np.random.default_rng(0)
"""),
        markdown(r"""
## 1 · The output size

Run `conv2d` backwards. A convolution maps $H$ to $\lfloor (H + 2p - k)/s \rfloor + 1$;
solving for $H$ gives the smallest input that produces a given output:

$$H_{out} = (H - 1)\, s - 2p + k + \text{output\_padding}$$

The floor lost up to $s - 1$ rows: with stride 2, inputs of 7 *and* 8 rows both convolve
to 4. `output_padding` (from 0 to $s - 1$) says which one to go back to: it adds that many
rows at the bottom (and columns at the right).

### Exercise 1: the size rule
"""),
        exercise("conv_transpose2d_output_size", '''
def conv_transpose2d_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                                 output_padding: int = 0) -> int:
    """Height (or width) of conv_transpose2d's output for an input of that height."""
    ### BEGIN SOLUTION
    return (size - 1) * stride - 2 * padding + kernel + output_padding
    ### END SOLUTION
'''),
        graded("check_conv_transpose2d_output_size", "conv_transpose2d_output_size"),
        code("""
# NBVAL_CHECK_OUTPUT
for size in (7, 8):
    down = (size + 2 * 1 - 3) // 2 + 1
    print(f"conv2d(k=3, s=2, p=1): {size} -> {down};  back with output_padding=0: "
          f"{conv_transpose2d_output_size(down, 3, 2, 1, 0)}, with output_padding=1: "
          f"{conv_transpose2d_output_size(down, 3, 2, 1, 1)}")
"""),
        markdown(r"""
## 2 · Forward: one matrix product and col2im

Lay the input out as $X$ $(N H W,\; C_{in})$ and the weight as $W_{mat}$
$(C_{in},\; C_{out} k_h k_w)$. Then $X W_{mat}$ holds, for every input pixel, the kernel
copy it scatters: one row per pixel, laid out like im2col's columns. `col2im` adds every
row onto its window of the full-size output
$((H-1)s + k_h + \text{output\_padding})$; finally cut `padding` rows/columns off each
side and add the bias. (Compare with lesson 03's backward: `col2im(G @ W_mat)`. Same thing.)

### Exercise 2: the forward pass
"""),
        exercise("conv_transpose2d_forward", '''
def conv_transpose2d_forward(ctx, x: np.ndarray, weight: np.ndarray, *bias: np.ndarray,
                             stride: tuple[int, int], padding: tuple[int, int],
                             output_padding: tuple[int, int]) -> np.ndarray:
    """x: (N, C, H, W), weight: (C, O, kh, kw), bias: () or ((O,),) -> (N, O, Ho, Wo)."""
    ### BEGIN SOLUTION
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = col2im(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)
    out = out[:, :, ph:full[2] - ph, pw:full[3] - pw]
    if bias:
        out = out + bias[0][:, None, None]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out
    ### END SOLUTION
'''),
        markdown("### Exercise 3: `conv_transpose2d`, PyTorch's signature"),
        code('''
class ConvTranspose2dFunction(Function):
    """Transposed convolution: forward and backward are your functions."""

    @staticmethod
    def forward(ctx, x: np.ndarray, weight: np.ndarray, *bias: np.ndarray,
                stride: tuple[int, int], padding: tuple[int, int],
                output_padding: tuple[int, int]) -> np.ndarray:
        return conv_transpose2d_forward(ctx, x, weight, *bias, stride=stride, padding=padding,
                                        output_padding=output_padding)

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> tuple[np.ndarray, ...]:
        return conv_transpose2d_backward(ctx, grad)
'''),
        exercise("conv_transpose2d", '''
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                     output_padding: int | tuple[int, int] = 0) -> Tensor:
    """input: (N, C, H, W), weight: (C, O, kh, kw), bias: (O,) or None -> (N, O, Ho, Wo)."""
    ### BEGIN SOLUTION
    def pair(value):
        return (value, value) if isinstance(value, int) else tuple(value)
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return ConvTranspose2dFunction.apply(*tensors, stride=pair(stride), padding=pair(padding),
                                         output_padding=pair(output_padding))
    ### END SOLUTION
'''),
        graded("check_conv_transpose2d_forward", "conv_transpose2d"),
        markdown(r"""
## 3 · Backward: im2col

The forward was $Y = \mathrm{crop}(\mathrm{col2im}(X W_{mat})) + b$. Backward undoes each
step in reverse order: put $G = \partial L/\partial Y$ back into a zero array of the full
size (the cropped border and the `output_padding` rows get no gradient); `im2col` (the
adjoint of col2im) gathers, for every input pixel, the gradient of the kernel copy it
scattered, $G_{col}$ $(N H W,\; C_{out} k_h k_w)$; then

$$\frac{\partial L}{\partial X} = G_{col} W_{mat}^\top \qquad
\frac{\partial L}{\partial W_{mat}} = X^\top G_{col} \qquad
\frac{\partial L}{\partial b_o} = \sum_{n,p,q} G_{n,o,p,q}$$

### Exercise 4: the backward pass
"""),
        exercise("conv_transpose2d_backward", '''
def conv_transpose2d_backward(ctx, grad: np.ndarray) -> tuple[np.ndarray, ...]:
    """grad: (N, O, Ho, Wo) -> (grad_x (N, C, H, W), grad_weight (C, O, kh, kw)[, grad_bias (O,)])."""
    ### BEGIN SOLUTION
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    grad_full = np.zeros(ctx.full, dtype=grad.dtype)
    grad_full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    grad_cols = im2col(grad_full, kh, kw, sh, sw)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    if ctx.has_bias:
        return grad_x, grad_weight, grad.sum(axis=(0, 2, 3))
    return grad_x, grad_weight
    ### END SOLUTION
'''),
        graded("check_conv_transpose2d", "conv_transpose2d", points=3),
        markdown(r"""
## 4 · It *is* the gradient of `conv2d`

Convolve $x$ with $w$ $(C_{out}, C_{in}, k, k)$, backpropagate some gradient $g$, and
compare `x.grad` with `conv_transpose2d(g, w)`: the same weight array, read as
$(C_{in}, C_{out}, k, k)$ of the transposed layer. `output_padding` restores the rows the
convolution's floor dropped: $(H + 2p - k) \bmod s$.
"""),
        code("""
# NBVAL_CHECK_OUTPUT
for size in (7, 8):
    x = mt.tensor(rng.standard_normal((1, 2, size, size)).astype(np.float32), requires_grad=True)
    w = mt.tensor(rng.standard_normal((3, 2, 3, 3)).astype(np.float32))
    y = conv2d(x, w, None, 2, 1)
    g = mt.tensor(rng.standard_normal(y.shape).astype(np.float32))
    y.backward(g)
    extra = (size + 2 * 1 - 3) % 2
    z = conv_transpose2d(g, w, None, 2, 1, extra)
    print(f"x {size}x{size} -> conv2d -> {y.shape[2]}x{y.shape[3]}; "
          f"conv_transpose2d(g, w, output_padding={extra}) == x.grad: "
          f"{z.shape == x.shape and bool(np.allclose(z.data, x.grad.data, atol=1e-5))}")
"""),
        markdown(r"""
## 5 · The checkerboard artefact

Feed a constant image through a transposed convolution whose weights are all 1: every
output pixel counts how many kernel copies land on it. With kernel 3 and stride 2 the copies
overlap unevenly (1, 2 or 4 of them), so even a constant input comes out as a grid pattern:
the **checkerboard artefact** (Odena et al., *Deconvolution and Checkerboard Artifacts*,
Distill 2016). A kernel divisible by the stride overlaps evenly; the U-Net's kernel 2,
stride 2 does not overlap at all: each input pixel becomes a 2×2 block.
"""),
        demo("""
ones = mt.tensor(np.ones((1, 1, 6, 6), np.float32))
fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
for ax, kernel in zip(axes, (3, 4, 2)):
    out = conv_transpose2d(ones, mt.tensor(np.ones((1, 1, kernel, kernel), np.float32)), None, 2)
    shown = ax.imshow(out.data[0, 0], cmap="viridis", vmin=0, vmax=4)
    ax.set_title(f"kernel {kernel}, stride 2\\n6x6 -> {out.shape[2]}x{out.shape[3]}")
    ax.axis("off")
fig.colorbar(shown, ax=axes, shrink=0.8, label="overlapping copies")
plt.show()
"""),
        markdown(r"""
## 6 · Your layer inside the U-Net

`F.override(conv_transpose2d=conv_transpose2d)` makes every up-convolution of the engine's
U-Net use yours (here together with your `conv2d`, through `plug_in`):
"""),
        code("""
# NBVAL_CHECK_OUTPUT
model = UNet(base_filters=4, depth=2).eval()
image = mt.randn(1, 1, 32, 32)
with mt.no_grad():
    engine_output = model(image)
    with plug_in(conv2d=conv2d, conv_transpose2d=conv_transpose2d):
        my_output = model(image)
print("same output as the engine's:", bool(np.abs(my_output.data - engine_output.data).max() < 1e-5))
"""),
        markdown(r"""
**Summary.** A transposed convolution scatters kernel copies (`col2im` of one matrix
product): it is the input-gradient of `conv2d`, so its weight is $(C_{in}, C_{out}, k, k)$
and its backward is an `im2col`. $H_{out} = (H-1)s - 2p + k + \text{output\_padding}$.
Uneven overlaps print a checkerboard; the U-Net's kernel 2, stride 2 has none. To use your
layer anywhere: `with F.override(conv_transpose2d=conv_transpose2d): ...`
"""),
    ]
