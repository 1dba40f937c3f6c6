"""Tensors with reverse-mode automatic differentiation.

A :class:`Tensor` holds an array (``data``), its gradient (``grad``) and, when it was made
by an op, the op's context and the tensors it came from. Each op is a :class:`Function`:
``forward`` and ``backward`` work on raw arrays; ``apply`` wires the result into the graph.
``Tensor.backward()`` sorts the graph topologically and runs one reverse loop, summing
gradients where a tensor is used twice, as PyTorch does.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

from . import backend

_grad_enabled = True


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Within this block, ops record no graph (inference, optimiser updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    return _grad_enabled


class Context:
    """What an op's forward saves for its backward (any attributes)."""

    needs_input_grad: tuple[bool, ...] = ()


class Function:
    """An op: subclasses define ``forward(ctx, *arrays, **params)`` and ``backward(ctx, grad)``.

    ``backward`` returns one gradient array (or None) per tensor input of ``forward``, as a
    tuple or a list (a single array for a single input).
    """

    @staticmethod
    def forward(ctx: Context, *arrays: Any, **params: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: "Tensor", **params: Any) -> "Tensor":
        device = inputs[0].device
        for t in inputs[1:]:
            if t.device != device:
                raise backend.DeviceError(
                    f"{cls.__name__.lower()}: tensors on different devices "
                    f"({', '.join(x.device for x in inputs)}); move them with .to(device) first")
        ctx = Context()
        ctx.needs_input_grad = tuple(t.requires_grad for t in inputs)
        out = cls.forward(ctx, *(t.data for t in inputs), **params)
        requires_grad = _grad_enabled and any(ctx.needs_input_grad)
        result = Tensor._wrap(out, requires_grad)
        if requires_grad:
            result._op, result._ctx, result._parents = cls, ctx, inputs
        return result


def _unbroadcast(grad: Any, shape: tuple[int, ...], op: str, position: int) -> Any:
    """Sum `grad` over the axes that broadcasting added or stretched to reach `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(n != 1 and n != g for n, g in zip(shape, grad.shape[extra:])):
        raise RuntimeError(f"{op}.backward returned a gradient of shape {tuple(grad.shape)} for "
                           f"input {position}, which has shape {shape}")
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    grad = grad.sum(axis=axes, keepdims=True) if axes else grad
    return grad.reshape(shape)


class Tensor:
    """An n-dimensional array on a device, that can record the ops applied to it.

    ``Tensor(data, requires_grad=False, device=None, dtype=None)``: Python numbers and
    lists become float32 (PyTorch's default); NumPy/CuPy arrays keep their dtype.
    """

    __array_priority__ = 1000  # numpy scalars defer to Tensor's operators

    def __init__(self, data: Any, requires_grad: bool = False, device: str | None = None,
                 dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        source = backend.device_of_any(data)
        device = device or source or "cpu"
        array = backend.asarray(data, device, dtype)
        if dtype is None and source is None and array.dtype.kind == "f":
            array = array.astype("float32")
        self._init(array, requires_grad)

    def _init(self, array: Any, requires_grad: bool) -> None:
        self.data = array
        self.grad: Tensor | None = None
        self._op: type[Function] | None = None
        self._ctx: Context | None = None
        self._parents: Sequence[Tensor] = ()
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    @classmethod
    def _wrap(cls, array: Any, requires_grad: bool = False) -> "Tensor":
        t = cls.__new__(cls)
        Tensor._init(t, array, requires_grad)
        return t

    # ---- description ------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.ndim

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        dev = ", device='cuda'" if self.device == "cuda" else ""
        return f"tensor({backend.to_numpy(self.data)!r}{dev}{grad})"

    # ---- conversion ---------------------------------------------------------------------
    def numpy(self):
        """A NumPy copy on the host (no graph)."""
        return backend.to_numpy(self.data).copy()

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(f"item(): tensor of shape {self.shape} has {self.data.size} elements, not 1")
        return self.data.reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    def to(self, device: str) -> "Tensor":
        """This tensor on `device` (itself if already there); gradients flow back."""
        if backend.check_device(device) == self.device:
            return self
        from .basic_ops import ToDevice
        return ToDevice.apply(self, device=backend.check_device(device))

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def float(self) -> "Tensor":
        return self.type("float32")

    def double(self) -> "Tensor":
        return self.type("float64")

    def type(self, dtype: Any) -> "Tensor":
        from .basic_ops import Cast
        return Cast.apply(self, dtype=dtype)

    # ---- autograd ---------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, not {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor._wrap(self.data, False)

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, grad: "Tensor | None" = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` that requires it."""
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no graph "
                               "(did you build it under no_grad(), or from tensors without "
                               "requires_grad=True?)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): the tensor has shape {self.shape}; a gradient can be implied only "
                    "for a single-element tensor. Reduce it first (e.g. loss.mean()) or pass "
                    "backward(grad) with a gradient of the same shape.")
            seed = backend.xp_of(self.data).ones_like(self.data)
        else:
            seed = grad.data if isinstance(grad, Tensor) else backend.asarray(grad, self.device)
            if tuple(seed.shape) != self.shape:
                raise ValueError(f"backward(): gradient of shape {tuple(seed.shape)} given for a "
                                 f"tensor of shape {self.shape}")
        grads: dict[int, Any] = {id(self): seed}
        for node in reversed(_topological_order(self)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._op is None:
                if node.requires_grad:
                    # Copied once, so a gradient shared by two inputs (x + y) is not aliased.
                    node.grad = Tensor._wrap(g.copy() if node.grad is None else node.grad.data + g)
                continue
            parent_grads = node._op.backward(node._ctx, g)
            if isinstance(parent_grads, list):
                parent_grads = tuple(parent_grads)
            elif not isinstance(parent_grads, tuple):
                parent_grads = (parent_grads,)
            if len(parent_grads) != len(node._parents):
                raise RuntimeError(f"{node._op.__name__}.backward returned {len(parent_grads)} "
                                   f"gradients for {len(node._parents)} inputs")
            for position, (parent, pg) in enumerate(zip(node._parents, parent_grads)):
                if pg is None or not parent.requires_grad:
                    continue
                pg = _unbroadcast(pg, parent.shape, node._op.__name__, position)
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg
            if not retain_graph:  # free saved arrays as soon as they are used
                node._ctx, node._parents, node._op = None, (), _Freed


def _topological_order(root: Tensor) -> list[Tensor]:
    """Nodes reachable from `root`, each after all the nodes it was made from."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:  # iterative depth-first search: deep graphs need no recursion limit
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if id(parent) not in seen and parent.requires_grad:
                stack.append((parent, False))
    return order


class _Freed(Function):
    """Stands in for an op whose saved arrays were freed by an earlier backward()."""

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        raise RuntimeError("backward() through a graph a second time: its saved arrays were "
                           "freed by the first backward(); pass retain_graph=True to the first call")


from . import basic_ops as _ops  # noqa: E402  (the ops need Tensor defined first)

_ops.install_tensor_methods(Tensor)
