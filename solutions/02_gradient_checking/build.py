"""Lesson 02, gradient checking: the cells of 02_gradient_checking.ipynb.

Rebuild with ``python -m minitorch_unet.course build 02`` (see solutions/README.md).
"""
from nbformat import NotebookNode

from minitorch_unet.course import code, exercise, graded, markdown


def cells() -> list[NotebookNode]:
    return [
        markdown(r'''
# 02 · Gradient checking

A `backward` with a wrong formula does not crash. The network trains, just badly, and nothing
points at the op to blame. The cure is cheap: compare every analytic gradient with a
**numerical** one, computed from nothing but the forward pass. In this lesson you write that
estimate and the error measure that goes with it, then use them on the engine's ops — and on
an op with a bug.

From here on, **test every op you write** this way before using it.
'''),
        code('''
from typing import Callable

import numpy as np
import matplotlib.pyplot as plt

import minitorch_unet as mt
from minitorch_unet import functional as F
from minitorch_unet.autograd import Function
from minitorch_unet.checks import check
'''),
        markdown(r'''
## Finite differences

The derivative is a limit, $f'(x) = \lim_{\varepsilon \to 0} (f(x+\varepsilon) - f(x)) / \varepsilon$.
With a small but finite $\varepsilon$, Taylor's formula tells how far off we are:

$$
\frac{f(x+\varepsilon) - f(x)}{\varepsilon} = f'(x) + \frac{\varepsilon}{2} f''(x) + O(\varepsilon^2)
\qquad\text{(forward difference: error} \propto \varepsilon),
$$

$$
\frac{f(x+\varepsilon) - f(x-\varepsilon)}{2\varepsilon} = f'(x) + \frac{\varepsilon^2}{6} f^{(3)}(x) + O(\varepsilon^4)
\qquad\text{(central difference: error} \propto \varepsilon^2).
$$

The even terms cancel in the central difference, so it is far more accurate. But $\varepsilon$
cannot be made tiny: $f$ is computed with a relative rounding error $u$ ($\approx 10^{-16}$ in
float64, $\approx 10^{-7}$ in float32), and dividing by $\varepsilon$ magnifies it to about
$u / \varepsilon$. The total error is smallest near $\varepsilon \approx u^{1/3}$: about
$10^{-6}$ to $10^{-5}$ in float64. For $f = \tanh$ at $x = 0.5$:
'''),
        code('''
x0 = 0.5
exact = 1 - np.tanh(x0) ** 2
steps = np.logspace(-12, -1, 45)
fig, ax = plt.subplots(figsize=(6.5, 4))
for dtype, style in [(np.float64, "-"), (np.float32, "--")]:
    x, eps = dtype(x0), steps.astype(dtype)
    forward = (np.tanh(x + eps) - np.tanh(x)) / eps
    central = (np.tanh(x + eps) - np.tanh(x - eps)) / (2 * eps)
    name = np.dtype(dtype).name
    ax.loglog(steps, np.abs(forward - exact) + 1e-17, "C0" + style, label=f"forward, {name}")
    ax.loglog(steps, np.abs(central - exact) + 1e-17, "C3" + style, label=f"central, {name}")
ax.set_xlabel("step eps")
ax.set_ylabel("|estimate - exact derivative|")
ax.set_title("too large: truncation error; too small: rounding error", fontsize=10)
ax.legend(fontsize=8)
plt.show()
''', tags=["demo"]),
        markdown(r'''
In float32 the error never gets much below $10^{-6}$, a hundred thousand times worse than
float64's best: too coarse to tell a right gradient from a slightly wrong one. **Gradient
checks run in float64.**

### Exercise: `numerical_gradient`

`f` takes an array `x` (any shape, float64) and returns a number. Return an array of `x`'s
shape whose entry $i$ is the central difference

$$
\frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2 \varepsilon},
$$

$e_i$ being 1 at entry $i$ and 0 elsewhere. Nudge one entry at a time, and put it back before
moving on: `x` must be unchanged when you return. `np.ndindex(x.shape)` walks every index of
an array of any shape.
'''),
        exercise("numerical_gradient", '''
def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       eps: float = 1e-6) -> np.ndarray:
    """Central-difference estimate of the gradient of the scalar function f at x."""
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        f_plus = f(x)
        x[i] = saved - eps
        f_minus = f(x)
        x[i] = saved
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
    ### END SOLUTION
'''),
        graded("check_numerical_gradient", "numerical_gradient", points=2),
        markdown(r'''
## How close is close enough?

Gradients range from $10^{-6}$ to $10^{4}$, so an absolute difference means little. We use the
**relative error** of each entry,

$$
\frac{|a - n|}{\max(|a|, |n|)},
$$

where $a$ is the analytic and $n$ the numerical value, counting $0/0$ as 0, and report the
largest. In float64 a correct op gives about $10^{-7}$ or less; between $10^{-6}$ and
$10^{-4}$, look closer (entries near 0, or a kink such as relu's at 0, can explain it); above
$10^{-4}$ the gradient is wrong.

### Exercise: `relative_error`

Return the largest relative error over all entries of `a` and `b` (arrays of the same shape,
or two numbers), as a Python `float`.
'''),
        exercise("relative_error", '''
def relative_error(a: np.ndarray | float, b: np.ndarray | float) -> float:
    """The largest |a - b| / max(|a|, |b|) over all entries, counting 0/0 as 0."""
    ### BEGIN SOLUTION
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))
    ### END SOLUTION
'''),
        graded("check_relative_error", "relative_error"),
        markdown(r'''
## Checking the engine's ops

An op maps arrays to an array, not to a number. To check it, make a number out of its output
with fixed random weights, $L = \sum_k w_k\,\mathrm{op}(x)_k$. Then $\partial L / \partial x$
has two independent answers: the engine's backward pass, and your `numerical_gradient` of
$x \mapsto L$. (With all weights 1, a backward that sends the right gradients to the wrong
places could go unnoticed; random weights catch it.)
'''),
        code('''
rng = np.random.default_rng(0)


def compare_gradients(op: Callable[..., mt.Tensor], *arrays: np.ndarray) -> list[float]:
    """The relative error between the engine's gradient and the numerical one, per input."""
    tensors = [mt.tensor(a, requires_grad=True) for a in arrays]
    out = op(*tensors)
    weights = rng.uniform(0.5, 1.5, size=out.shape)
    (out * mt.tensor(weights)).sum().backward()
    errors = []
    for k, t in enumerate(tensors):
        def loss(x: np.ndarray, k: int = k) -> float:
            values = [mt.tensor(x if j == k else a) for j, a in enumerate(arrays)]
            return float((op(*values).numpy() * weights).sum())
        errors.append(relative_error(t.grad.numpy(), numerical_gradient(loss, arrays[k].copy())))
    return errors


def report(name: str, errors: list[float]) -> None:
    verdict = "ok" if max(errors) < 1e-6 else "WRONG"
    print(f"{name:<26} {'  '.join(f'{e:.0e}' for e in errors):<26} {verdict}")
''', tags=["demo"]),
        code('''
def data(*shape: int) -> np.ndarray:
    """Random float64 numbers of the given shape."""
    return rng.normal(size=shape)


cases = {
    "tanh": (F.tanh, [data(3, 4)]),
    "sigmoid": (F.sigmoid, [data(3, 4)]),
    "a * b  (3, 4) * (4,)": (lambda a, b: a * b, [data(3, 4), data(4)]),
    "a @ b  (3, 5) @ (5, 2)": (lambda a, b: a @ b, [data(3, 5), data(5, 2)]),
    "sum(dim=1)": (lambda a: a.sum(dim=1), [data(3, 4)]),
    "conv2d, padding 1": (lambda x, w, b: F.conv2d(x, w, b, padding=1),
                          [data(1, 2, 5, 5), data(3, 2, 3, 3), data(3)]),
    "max_pool2d 2x2": (lambda x: F.max_pool2d(x, 2), [data(1, 2, 4, 4)]),
}
print(f"{'op':<26} {'relative error per input':<26} verdict")
for name, (op, arrays) in cases.items():
    report(name, compare_gradients(op, *arrays))
''', tags=["demo"]),
        markdown(r'''
## Catching a bug

Here is a sigmoid written as an engine `Function` — the same form every op you write from
lesson 03 on will take: `forward` computes the output and saves what `backward` needs in
`ctx`; `backward` returns the gradient of the input. Its backward forgets the factor
$(1 - s)$ of $\sigma'(x) = s(1 - s)$:
'''),
        code('''
class BuggySigmoid(Function):
    @staticmethod
    def forward(ctx, x: np.ndarray) -> np.ndarray:
        ctx.s = 1 / (1 + np.exp(-x))
        return ctx.s

    @staticmethod
    def backward(ctx, grad: np.ndarray) -> np.ndarray:
        return grad * ctx.s  # bug: should be grad * ctx.s * (1 - ctx.s)


report("buggy sigmoid", compare_gradients(BuggySigmoid.apply, data(3, 4)))
''', tags=["demo"]),
        markdown(r'''
## From now on: `gradcheck`

The engine packages all of this as `minitorch_unet.gradcheck(fn, *inputs)`: give it a function
of tensors and float64 inputs with `requires_grad=True`; it returns `True`, or raises an
`AssertionError` naming the input, the entry where the two gradients differ most, and both
values. Keep the inputs small: every entry costs two forward passes.
'''),
        code('''
# NBVAL_CHECK_OUTPUT
x = mt.tensor(rng.normal(size=(1, 2, 5, 5)), requires_grad=True)
w = mt.tensor(rng.normal(size=(3, 2, 3, 3)), requires_grad=True)
print("conv2d:", mt.gradcheck(lambda x, w: F.conv2d(x, w, padding=1), x, w))
try:
    mt.gradcheck(BuggySigmoid.apply, mt.tensor(rng.normal(size=(3, 4)), requires_grad=True))
except AssertionError as err:
    print("buggy sigmoid:", str(err).split(";")[0])
''', tags=["demo"]),
        markdown(r'''
## Summary

* The **central difference** $(f(x+\varepsilon) - f(x-\varepsilon)) / 2\varepsilon$ has an
  error $\propto \varepsilon^2$; with rounding, $\varepsilon \approx 10^{-6}$ in **float64** is
  the sweet spot. float32 is too coarse for checking.
* Compare gradients by their **relative error**: about $10^{-7}$ or less is right, above
  $10^{-4}$ is wrong.
* Reduce an op's output with **random weights** before checking it.
* `minitorch_unet.gradcheck(fn, *inputs)` does all of this: use it on every op you write.

Next, lesson 03 writes the first layer of the U-Net by hand: the convolution.
'''),
    ]
