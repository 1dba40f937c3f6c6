"""Lesson 01, autograd: the cells of 01_autograd.ipynb.

Rebuild with ``python -m minitorch_unet.course build 01`` (see solutions/README.md).
"""
from nbformat import NotebookNode

from minitorch_unet.course import code, exercise, graded, markdown


def cells() -> list[NotebookNode]:
    return [
        markdown(r'''
# 01 · Autograd

A network learns by nudging each of its weights $w$ against the gradient
$\partial L / \partial w$ of a loss $L$. A U-Net has millions of weights, and we want all those
derivatives at once, exactly, for about the cost of computing $L$ itself. **Reverse-mode
automatic differentiation** ("autograd") does that, and this lesson builds it:

1. a scalar engine — a `Value` that remembers how it was made (in the spirit of Andrej
   Karpathy's *micrograd*) — where you write the gradients of two ops, the order of the walk
   back through the graph, and the walk itself;
2. the same machinery on arrays, as in this project's engine, where broadcasting adds one
   more step you will write: `unbroadcast`.
'''),
        code('''
import inspect
import math

import numpy as np
import matplotlib.pyplot as plt

import minitorch_unet as mt
from minitorch_unet.checks import check
'''),
        markdown(r'''
## 1. The chain rule, one op at a time

Every computation is a chain of small ops. If $L$ depends on $x$ only through $y = f(x)$, the
chain rule says

$$
\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}\,\frac{\partial y}{\partial x}.
$$

So each op needs to know only its own *local* derivative $\partial y / \partial x$: given the
gradient arriving from above, $\partial L / \partial y$ (we call it `grad`), it multiplies and
passes the result down to its inputs.

| op | forward | gradient sent to each input |
|---|---|---|
| $a + b$ | $a + b$ | `grad`, `grad` |
| $a \cdot b$ | $a b$ | `b * grad`, `a * grad` |
| $\tanh(x)$ | $t = \tanh x$ | $(1 - t^2)$ `* grad` |
| $\mathrm{relu}(x)$ | $\max(x, 0)$ | `grad` if $x > 0$ else 0 |

Here is the `Value` class. Each op creates a new `Value` that remembers its inputs (`_prev`) and
a small function, `_backward`, that adds its share of the gradient into its inputs' `.grad`.
Addition and relu are written out; multiplication and tanh call two functions you will write.
The gradients are *added* (`+=`), never assigned: a value used twice gets a contribution along
each path, and the chain rule says to sum them.
'''),
        code('''
class Value:
    """A number that remembers how it was made, so that gradients can flow back to its inputs."""

    def __init__(self, data: float, _prev: tuple = (), op: str = "", label: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0                  # dL/d(this value), filled in by backward()
        self._prev = _prev               # the Values this one was made from
        self._backward = lambda: None    # adds this value's grad into its inputs' .grad
        self.op, self.label = op, label

    def __repr__(self) -> str:
        return f"Value({self.label or self.op}: data={self.data:.4g}, grad={self.grad:.4g})"

    def __add__(self, other: "Value | float") -> "Value":
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: "Value | float") -> "Value":
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            grad_self, grad_other = mul_backward(self.data, other.data, out.grad)
            self.grad += grad_self
            other.grad += grad_other

        out._backward = _backward
        return out

    def tanh(self) -> "Value":
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward() -> None:
            self.grad += tanh_backward(self.data, out.grad)

        out._backward = _backward
        return out

    def relu(self) -> "Value":
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward() -> None:
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def backward(self) -> None:
        backward(self)

    __radd__ = __add__
    __rmul__ = __mul__

    def __neg__(self) -> "Value":
        return self * -1.0

    def __sub__(self, other: "Value | float") -> "Value":
        return self + (-other)
'''),
        markdown(r'''
### Exercise: `mul_backward`

For $out = a \cdot b$: $\partial out / \partial a = b$ and $\partial out / \partial b = a$.
Given `grad` $= \partial L / \partial out$, return the pair $(\partial L / \partial a,\;
\partial L / \partial b)$.
'''),
        exercise("mul_backward", '''
def mul_backward(a: float, b: float, grad: float) -> tuple[float, float]:
    """For out = a * b, given grad = dL/d(out), return (dL/da, dL/db)."""
    ### BEGIN SOLUTION
    return b * grad, a * grad
    ### END SOLUTION
'''),
        graded("check_mul_backward", "mul_backward"),
        markdown(r'''
### Exercise: `tanh_backward`

For $out = \tanh(x)$: $\partial out / \partial x = 1 - \tanh^2(x)$. Given `grad`
$= \partial L / \partial out$, return $\partial L / \partial x$.
'''),
        exercise("tanh_backward", '''
def tanh_backward(x: float, grad: float) -> float:
    """For out = tanh(x), given grad = dL/d(out), return dL/dx."""
    ### BEGIN SOLUTION
    return (1.0 - math.tanh(x) ** 2) * grad
    ### END SOLUTION
'''),
        graded("check_tanh_backward", "tanh_backward"),
        markdown(r'''
## 2. The order of the walk

To get every gradient we call each node's `_backward`, starting from the output with
$\partial L / \partial L = 1$. But in which order? A node may pass its gradient on only once
that gradient is *complete*: once every node that uses it has added its share. Take
$c = a b$, $d = c + a$, $e = c\,d$, $f = e + c$: $c$ feeds $d$, $e$ and $f$, so $c$ must wait for
all three.

A **topological order** lists every node after all of its inputs. Walking it *in reverse*
visits every node after all the nodes that use it — exactly what we need. One way to build
it is a depth-first search: visit a node's inputs first, then append the node; a set of
visited nodes keeps shared nodes from being listed twice.

### Exercise: `topological_order`

Return the list of every `Value` that `root` was made from, and `root` itself, each appearing
once and after all of its inputs (`_prev`); `root` is last. (A recursive helper function is the
shortest way. The engine uses an explicit stack instead, because a deep network's graph would
exceed Python's recursion limit.)
'''),
        exercise("topological_order", '''
def topological_order(root: Value) -> list[Value]:
    """Every Value that root was made from, and root, each once and after all its inputs."""
    ### BEGIN SOLUTION
    order: list[Value] = []
    visited: set[Value] = set()

    def visit(node: Value) -> None:
        if node in visited:
            return
        visited.add(node)
        for child in node._prev:
            visit(child)
        order.append(node)

    visit(root)
    return order
    ### END SOLUTION
'''),
        graded("check_topological_order", "topological_order", points=2),
        markdown(r'''
### Exercise: `backward`

Set the output's gradient to 1 ($\partial L / \partial L$), then call `_backward()` of every node
of `topological_order(root)`, in reverse. (Gradients start at 0 when a `Value` is made; calling
`backward` twice adds the gradients twice, as in PyTorch.)
'''),
        exercise("backward", '''
def backward(root: Value) -> None:
    """Fill .grad of root and of every Value it was made from with d(root)/d(that value)."""
    ### BEGIN SOLUTION
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        node._backward()
    ### END SOLUTION
'''),
        graded("check_backward", "backward", points=2),
        markdown(r'''
### Try it: one neuron

A neuron with two inputs: $o = \tanh(x_1 w_1 + x_2 w_2 + b)$. The bias is chosen so that
$o = 1/\sqrt 2$, where $\partial o / \partial n = 1 - o^2 = 1/2$.
'''),
        code('''
# NBVAL_CHECK_OUTPUT
x1, w1 = Value(2.0, label="x1"), Value(-3.0, label="w1")
x2, w2 = Value(0.0, label="x2"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
n = x1 * w1 + x2 * w2 + b
n.label = "n"
o = n.tanh()
o.label = "o"
o.backward()
print(f"o = {o.data:.4f}")
print("gradients of x1, w1, x2, w2, b:", [round(v.grad, 4) for v in (x1, w1, x2, w2, b)])
''', tags=["demo"]),
        markdown(r'''
The picture below draws this graph: inputs on the left, the output on the right. The red number
on each node is its place in `topological_order(o)`; `backward` walked them from the highest
down.
'''),
        code('''
def draw_graph(root: Value, title: str) -> None:
    """Draw root's graph, inputs left, root right: data, grad and topological position of each node."""
    order = topological_order(root)
    depth: dict[Value, int] = {}
    for node in order:  # a node's inputs come before it, so their depth is known
        depth[node] = 1 + max((depth[p] for p in node._prev), default=-1)
    columns: dict[int, list[Value]] = {}
    for node in order:
        columns.setdefault(depth[node], []).append(node)
    where = {node: (d, k - (len(nodes) - 1) / 2) for d, nodes in columns.items()
             for k, node in enumerate(nodes)}
    height = max(len(nodes) for nodes in columns.values())
    fig, ax = plt.subplots(figsize=(2.1 * len(columns), 1.2 * height + 0.5))
    for place, node in enumerate(order, start=1):
        x, y = where[node]
        for parent in node._prev:
            px, py = where[parent]
            bend = 0.0 if x - px == 1 else (0.25 if py < y else -0.25)  # arc past skipped nodes
            ax.annotate("", xy=(x - 0.33, y), xytext=(px + 0.33, py),
                        arrowprops=dict(arrowstyle="->", color="gray",
                                        connectionstyle=f"arc3,rad={bend}"))
        ax.text(x, y, f"{node.label or node.op}\\ndata {node.data:.3g}\\ngrad {node.grad:.3g}",
                ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round", fc="lightyellow" if node._prev else "lightblue"))
        ax.text(x - 0.36, y + 0.3, str(place), color="crimson", fontsize=9, fontweight="bold")
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.set_ylim(-height / 2 - 0.1, height / 2 + 0.1)
    ax.set_title(title, fontsize=10)
    ax.axis("off")
    plt.show()


draw_graph(o, "o = tanh(x1*w1 + x2*w2 + b)")
''', tags=["demo"]),
        markdown(r'''
### Why the order matters

Here is a walk that looks reasonable but ignores the order: start at the output and call
`_backward` on nodes breadth-first, as soon as they are reached. On the graph
$c = ab$, $d = c + a$, $e = c\,d$, $f = e + c$ it lets $c$ pass its gradient on before $d$ has
added its share to `c.grad`:
'''),
        code('''
# NBVAL_CHECK_OUTPUT
def shared_graph() -> tuple[Value, Value, Value]:
    a, b = Value(1.5, label="a"), Value(-0.5, label="b")
    c = a * b
    d = c + a
    e = c * d
    f = e + c
    c.label, d.label, e.label, f.label = "c", "d", "e", "f"
    return a, b, f


def backward_breadth_first(root: Value) -> None:
    """Wrong on purpose: calls _backward of each node as soon as the walk reaches it."""
    root.grad = 1.0
    queue, seen = [root], {root}
    while queue:
        node = queue.pop(0)
        node._backward()
        for parent in node._prev:
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)


a, b, f = shared_graph()
backward(f)
print(f"topological order: a.grad = {a.grad:.4f}, b.grad = {b.grad:.4f}")
a, b, f = shared_graph()
backward_breadth_first(f)
print(f"breadth first:     a.grad = {a.grad:.4f}, b.grad = {b.grad:.4f}   (wrong)")
''', tags=["demo"]),
        code('''
a, b, f = shared_graph()
backward(f)
draw_graph(f, "c feeds d, e and f: it may pass its gradient on only after all three")
''', tags=["demo"]),
        markdown(r'''
The engine of this project does the same, with tensors in place of numbers. Its answer for
the neuron (in float64) matches yours:
'''),
        code('''
# NBVAL_CHECK_OUTPUT
inputs = [mt.tensor(v, requires_grad=True, dtype="float64")
          for v in (2.0, -3.0, 0.0, 1.0, 6.8813735870195432)]
tx1, tw1, tx2, tw2, tb = inputs
(tx1 * tw1 + tx2 * tw2 + tb).tanh().backward()
print("engine's gradients of x1, w1, x2, w2, b:", [round(t.grad.item(), 4) for t in inputs])
''', tags=["demo"]),
        markdown(r'''
## 3. From numbers to arrays

The engine's `Tensor` holds an array instead of a number. Each op is a `Function` with a
`forward(ctx, *arrays)` that computes the result and saves what the gradient will need in
`ctx`, and a `backward(ctx, grad)` that returns one gradient array per input — your
`mul_backward`, elementwise. `Tensor.backward()` is your `backward`: a topological order, then
one reverse walk. Here is the engine's multiplication:
'''),
        code('''
print(inspect.getsource(mt.basic_ops.Mul))
''', tags=["demo"]),
        markdown(r'''
### Broadcasting, and its gradient

Arrays bring one new thing: **broadcasting**. Adding `a` of shape (3, 1) to `b` of shape (4,)
gives a (3, 4) result: NumPy stretches `a` along the columns and treats `b` as one row
repeated three times. Each `a[i, 0]` is used 4 times, each `b[j]` 3 times.

So in the backward pass the gradient arrives with the result's shape, (3, 4), and each input
must get a gradient of *its own* shape — the sum of the gradients of all the places where it
was used:

* axes that broadcasting **added in front** (`b` became (1, 4)) are summed away;
* axes where the input had **size 1** and the result does not (`a`'s columns) are summed,
  keeping the size-1 axis.
'''),
        code('''
grad = np.arange(1.0, 13.0).reshape(3, 4)
fig, axes = plt.subplots(1, 3, figsize=(9, 2.4), gridspec_kw={"width_ratios": [4, 1.4, 4]})
for ax, values, title in [(axes[0], grad, "grad of a + b: (3, 4)"),
                          (axes[1], grad.sum(axis=1, keepdims=True), "for a: (3, 1)"),
                          (axes[2], grad.sum(axis=0, keepdims=True), "for b: (4,)")]:
    ax.imshow(values, cmap="Blues", vmin=0, vmax=1.5 * values.max())
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:g}", ha="center", va="center")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()
''', tags=["demo"]),
        markdown(r'''
### Exercise: `unbroadcast`

Sum `grad` (the gradient of a broadcast result) down to an input's `shape`: first over the
leading axes that broadcasting added, then — with `keepdims=True` — over the axes where
`shape` has a 1 but `grad` does not. The result must have exactly `shape` (which may be `()`
for a single number).
'''),
        exercise("unbroadcast", '''
def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum grad, the gradient of a broadcast result, down to an input of the given shape."""
    ### BEGIN SOLUTION
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return np.asarray(grad).reshape(shape)
    ### END SOLUTION
'''),
        graded("check_unbroadcast", "unbroadcast", points=2),
        markdown(r'''
The engine does exactly this for every op whose inputs were broadcast. For a weighted sum of
$a + b$, the gradient of each input is the weights, unbroadcast:
'''),
        code('''
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(0)
for shape_a, shape_b in [((3, 1), (4,)), ((2, 3, 4), (3, 1)), ((5,), ())]:
    a = mt.tensor(np.asarray(rng.normal(size=shape_a)), requires_grad=True)
    b = mt.tensor(np.asarray(rng.normal(size=shape_b)), requires_grad=True)
    out = a + b
    weights = rng.normal(size=out.shape)
    (out * mt.tensor(weights)).sum().backward()
    same_a = np.allclose(a.grad.numpy(), unbroadcast(weights, shape_a))
    same_b = np.allclose(b.grad.numpy(), unbroadcast(weights, shape_b))
    print(f"{shape_a} + {shape_b} -> {out.shape}: a {'same' if same_a else 'DIFFERENT'}, "
          f"b {'same' if same_b else 'DIFFERENT'}")
''', tags=["demo"]),
        markdown(r'''
## Summary

* Each op knows only its local derivative; `_backward` multiplies it by the incoming gradient
  and **adds** the result into its inputs' gradients.
* `backward` seeds the output with 1 and walks a **topological order in reverse**, so each node
  passes its gradient on only when it is complete.
* On arrays, an input that was broadcast gets its gradient **summed back** to its own shape.

That is all of autograd. But an op whose `backward` has a wrong formula still runs, and the
network just learns badly. Lesson 02 builds the tool that catches such bugs: gradient checking.
'''),
    ]
