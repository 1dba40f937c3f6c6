"""Autograd semantics as in PyTorch: accumulation, no_grad, detach, broadcasting, freed graphs."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch_unet as mt
from minitorch_unet import nn


def t64(a, grad=True):
    return mt.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_gradient_of_a_reused_tensor_is_summed():
    x = t64([1.0, 2.0, 3.0])
    y = (x * x + x * 3.0).sum()  # dy/dx = 2x + 3
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0, 9.0])


def test_gradients_accumulate_across_backward_calls_until_zeroed():
    x = t64([2.0])
    (x * 3.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0])
    x.zero_grad()
    assert x.grad is None


def test_shared_gradient_is_not_aliased_between_inputs():
    a, b = t64([1.0, 1.0]), t64([2.0, 2.0])
    (a + b).sum().backward()
    a.grad.data[0] = 100.0
    assert b.grad.numpy()[0] == 1.0


def test_broadcasting_is_undone_in_backward():
    a = t64(np.ones((3, 1, 5)))
    b = t64(np.ones((4, 5)))
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1, 5) and b.grad.shape == (4, 5)
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1, 5), 4.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full((4, 5), 3.0))


def test_no_grad_records_nothing_and_detach_cuts_the_graph():
    x = t64([1.0, 2.0])
    with mt.no_grad():
        y = x * 2.0
    assert not y.requires_grad and mt.is_grad_enabled()
    z = (x.detach() * 2.0 + x).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_backward_on_a_non_scalar_needs_a_gradient():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*single-element"):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match=r"gradient of shape \(3,\)"):
        (x * 2.0).backward(mt.tensor(np.ones(3)))


def test_second_backward_through_a_freed_graph_is_a_clear_error_unless_retained():
    x = t64([1.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0])
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_float32_by_default_and_integer_tensors_cannot_require_grad():
    assert mt.tensor([1.0, 2.0]).dtype == np.float32
    assert mt.tensor(np.zeros(2)).dtype == np.float64  # arrays keep their dtype
    with pytest.raises(TypeError, match="floating-point"):
        mt.tensor([1, 2], requires_grad=True)


def test_deep_graph_needs_no_recursion():
    x = t64([1.0])
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_module_parameters_state_dict_round_trip_and_modes():
    mt.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Dropout(0.5))
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias"]
    state = model.state_dict()
    assert set(state) == set(names) | {"1.running_mean", "1.running_var", "1.num_batches_tracked"}
    model.eval()
    assert not any(m.training for m in model.modules())
    other = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Dropout(0.5))
    other.load_state_dict(state)
    other.eval()
    x = mt.randn(2, 1, 5, 5)
    np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(3, 1, 3, 3\)"):
        other.load_state_dict({**state, "0.weight": np.zeros((3, 1, 3, 3))})
    with pytest.raises(KeyError, match="missing keys"):
        other.load_state_dict({"0.weight": state["0.weight"]})


def test_manual_seed_makes_initialisation_repeatable():
    mt.manual_seed(3)
    a = nn.Conv2d(2, 3, 3).weight.numpy()
    mt.manual_seed(3)
    b = nn.Conv2d(2, 3, 3).weight.numpy()
    np.testing.assert_array_equal(a, b)


def test_a_function_returning_a_misshapen_gradient_is_named():
    class Wrong(mt.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g[:1]

    class TooMany(Wrong):
        @staticmethod
        def backward(ctx, g):
            return g, g

    x = t64([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"Wrong.backward returned a gradient of shape \(1,\) "
                                           r"for input 0, which has shape \(3,\)"):
        Wrong.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"TooMany.backward returned 2 gradients for 1 inputs"):
        TooMany.apply(x).sum().backward()
