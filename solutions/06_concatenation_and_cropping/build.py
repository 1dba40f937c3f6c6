"""Writes 06_concatenation_and_cropping.ipynb, the solution notebook of lesson 06."""
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
# 06 · Concatenation and cropping: the skip connections

The "U" of the U-Net: the decoder gets back, at each resolution, the encoder's feature map
of the same size, joined to its own along the channels. These **skip connections** carry
the fine detail (exact edges) that the way down through pooling lost. Two small layers make
them:

* `cat`: join tensors along a dimension (the channels, `dim=1`);
* `center_crop`: cut the middle out of a larger map, because in the original, unpadded
  U-Net the encoder's maps are larger than the decoder's.

This lesson reuses your layers of lessons 03-05 (or the engine's) and ends with a whole
unpadded U-Net running on your code.
"""),
        code("""
import matplotlib.pyplot as plt
import numpy as np

import minitorch_unet as mt
from minitorch_unet import Function, Tensor, functional as F
from minitorch_unet.checks import check
from minitorch_unet.course import plug_in, use_own_or_reference
from minitorch_unet.unet import UNet

conv2d = use_own_or_reference("check_conv2d", F.conv2d)
max_pool2d = use_own_or_reference("check_max_pool2d", F.max_pool2d)
conv_transpose2d = use_own_or_reference("check_conv_transpose2d", F.conv_transpose2d)
mt.manual_seed(0)
rng = np.random.default_rng(0)
"""),
        markdown(r"""
## 1 · `cat`

Concatenating $x_0$ $(N, C_0, H, W)$ and $x_1$ $(N, C_1, H, W)$ along `dim=1` gives
$(N, C_0 + C_1, H, W)$: channels $0 \ldots C_0 - 1$ are $x_0$'s, the rest $x_1$'s. Every
other size must match. Each output entry is a copy of exactly one input entry, so the
backward pass hands each input **its own slice** of the gradient:

$$\frac{\partial L}{\partial x_0} = G_{:,\,0:C_0}\qquad
\frac{\partial L}{\partial x_1} = G_{:,\,C_0:C_0 + C_1}$$

`np.split(g, cuts, axis=dim)` cuts at the positions `cuts`: the running sums of the sizes,
without the last one (sizes 2, 3, 4 → cuts 2, 5).

### Exercise 1: forward
"""),
        exercise("cat_forward", '''
def cat_forward(ctx, *arrays: np.ndarray, dim: int) -> np.ndarray:
    """arrays: equal shapes except along `dim` -> their concatenation along `dim`."""
    ### BEGIN SOLUTION
    ctx.sizes, ctx.dim = [a.shape[dim] for a in arrays], dim
    return np.concatenate(arrays, axis=dim)
    ### END SOLUTION
'''),
        markdown("### Exercise 2: backward"),
        exercise("cat_backward", '''
def cat_backward(ctx, grad: np.ndarray) -> tuple[np.ndarray, ...]:
    """grad: the output's gradient -> one slice per input, each of that input's shape."""
    ### BEGIN SOLUTION
    return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim))
    ### END SOLUTION
'''),
        markdown("### Exercise 3: `cat(tensors, dim=0)`, PyTorch's signature"),
        code('''
class CatFunction(Function):
    """Concatenation: forward and backward are your functions."""

    @staticmethod
    def forward(ctx, *arrays: np.ndarray, dim: int) -> np.ndarray:
        return cat_forward(ctx, *arrays, dim=dim)

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> tuple[np.ndarray, ...]:
        return cat_backward(ctx, grad)
'''),
        exercise("cat", '''
def cat(tensors: list[Tensor], dim: int = 0) -> Tensor:
    """Tensors with equal shapes except along `dim` -> one tensor."""
    ### BEGIN SOLUTION
    return CatFunction.apply(*tensors, dim=dim)
    ### END SOLUTION
'''),
        graded("check_cat", "cat"),
        markdown(r"""
## 2 · `center_crop`

Keep the middle $h \times w$ of the last two dimensions. The leftover $H - h$ rows are
split between top and bottom; when it is odd, one side gets one more. The convention here
(the engine's, and the reference the check uses) rounds the top **down**:

$$\text{top} = \left\lfloor \frac{H - h}{2} \right\rfloor \qquad
\text{left} = \left\lfloor \frac{W - w}{2} \right\rfloor$$

so the extra row goes to the bottom and the extra column to the right. Rounding the other
way shifts the crop by one pixel, a mistake no shape check catches: the skip connection
would then be misaligned with the decoder's map by one pixel.
"""),
        demo("""
fig, ax = plt.subplots(figsize=(3.2, 3.2))
grid = np.zeros((7, 7))
grid[1:5, 1:5] = 1
ax.imshow(grid, cmap="Blues", vmin=0, vmax=1.6)
for (r, c), v in np.ndenumerate(grid):
    ax.text(c, r, f"{r},{c}", ha="center", va="center", fontsize=7)
ax.set_title("7x7 cropped to 4x4: top = left = 3 // 2 = 1", fontsize=9)
ax.set_xticks([])
ax.set_yticks([])
plt.show()
"""),
        markdown(r"""
The forward pass is a slice. Backward: the cropped-away pixels did not affect the output,
so their gradient is zero; the others get the output's gradient, at the same place.

### Exercise 4: backward
"""),
        code('''
class CropFunction(Function):
    """x[..., top:top + height, left:left + width]; the backward is yours."""

    @staticmethod
    def forward(ctx, x: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
        ctx.shape, ctx.top, ctx.left = x.shape, top, left
        return x[..., top:top + height, left:left + width]

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> np.ndarray:
        return crop_backward(ctx, grad)
'''),
        exercise("crop_backward", '''
def crop_backward(ctx, grad: np.ndarray) -> np.ndarray:
    """grad: (..., height, width) -> the input's gradient (..., H, W), zero outside the crop."""
    ### BEGIN SOLUTION
    grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
    grad_x[..., ctx.top:ctx.top + grad.shape[-2], ctx.left:ctx.left + grad.shape[-1]] = grad
    return grad_x
    ### END SOLUTION
'''),
        markdown(r"""
### Exercise 5: `center_crop(input, size)`

`size` is an int (a square) or a pair `(height, width)`.
"""),
        exercise("center_crop", '''
def center_crop(input: Tensor, size: int | tuple[int, int]) -> Tensor:
    """input: (..., H, W) -> (..., h, w), the centred window; size: h (= w) or (h, w)."""
    ### BEGIN SOLUTION
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    top, left = (input.shape[-2] - h) // 2, (input.shape[-1] - w) // 2
    return CropFunction.apply(input, top=top, left=left, height=h, width=w)
    ### END SOLUTION
'''),
        graded("check_center_crop", "center_crop"),
        markdown(r"""
## 3 · Why the original U-Net crops: 572 → 388

Ronneberger et al. (2015) used unpadded ("valid") 3×3 convolutions: each loses one pixel on
every side, so each double convolution shrinks a map by 4. Pooling halves, the 2×2
up-convolution doubles. On the way up, the decoder's map is therefore smaller than the
encoder's map it is joined with, and the encoder's is center-cropped to fit:
"""),
        code("""
# NBVAL_CHECK_OUTPUT
size, depth, skips = 572, 4, []
row = "{:<11}{:>6}  {:<27}{:>8}  {}".format
print(row("block", "input", "skip: cropped to input", "2 convs", "then"))
for level in range(1, depth + 1):
    skips.append(size - 4)
    print(row(f"enc{level}", size, "", size - 4, f"pool -> {(size - 4) // 2}"))
    size = (size - 4) // 2
print(row("bottleneck", size, "", size - 4, f"up-conv -> {2 * (size - 4)}"))
size = 2 * (size - 4)
for level in range(depth, 0, -1):
    skip = skips[level - 1]
    crop = f"{skip} -> {size} ({(skip - size) // 2} per side)"
    then = f"up-conv -> {2 * (size - 4)}" if level > 1 else "1x1 conv: output"
    print(row(f"dec{level}", size, crop, size - 4, then))
    size = 2 * (size - 4)
print("engine's UNet(padding='valid').output_size(572):", UNet(padding="valid").output_size(572))
"""),
        markdown(r"""
A 572×572 input gives a 388×388 segmentation of its centre; the paper tiles large images
with overlapping inputs for that reason. With padded ('same') convolutions, which this
course trains by default, no map shrinks and no crop is needed; both variants are in the
engine's `UNet(padding=...)`.

## 4 · A whole U-Net on your layers

An unpadded U-Net (small: depth 2, 4 base filters, a 60×60 input) on your `conv2d`,
`max_pool2d`, `conv_transpose2d`, `cat` and `center_crop`, against the engine's own:
"""),
        code("""
# NBVAL_CHECK_OUTPUT
model = UNet(base_filters=4, depth=2, padding="valid").eval()
image = mt.randn(1, 1, 60, 60)
engine_output = model(image)
engine_output.sum().backward()
engine_grad = model.enc1[0].weight.grad.data.copy()
model.zero_grad()
with plug_in(conv2d=conv2d, max_pool2d=max_pool2d, conv_transpose2d=conv_transpose2d,
             cat=cat, center_crop=center_crop):
    my_output = model(image)
    my_output.sum().backward()
print("output", my_output.shape, "| same output:",
      bool(np.abs(my_output.data - engine_output.data).max() < 1e-5), "| same gradient:",
      bool(np.abs(model.enc1[0].weight.grad.data - engine_grad).max() < 1e-4))
"""),
        markdown(r"""
**Summary.** `cat` copies, so its gradient is split back into the inputs' slices;
`center_crop` slices at $\lfloor (H-h)/2 \rfloor$, and its gradient is zero outside. An
unpadded U-Net loses 4 pixels per double convolution, hence the crops and 572 → 388.
To use your layers anywhere: `with F.override(cat=cat, center_crop=center_crop): ...`
"""),
    ]
