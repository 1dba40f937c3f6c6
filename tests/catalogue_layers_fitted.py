"""Wrong answers for lessons 02-05 of classes recognised by fitting a family of variants to the
outputs (a changed reduction or element op, the parts of the relative-error formula, a
transform matrix typed with other entries, a kernel flattened in another axis order, a result
left in a matrix's layout, a slice copied from another one), and right answers written
differently; entries follow tests/test_checks_catalogue.py."""
import numpy as np
from minitorch_unet.convolution import col2im as c2i, im2col as i2c
from test_checks_catalogue import Mistake

FITTED: list[Mistake] = []
RIGHT: list[tuple[str, str, dict]] = []
B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


def entry(grade, function, *words):
    def add(fn):
        FITTED.append(Mistake(f"fitted_{fn.__name__}", grade, {function: fn}, words))
        return fn
    return add


def right(grade, function):
    def add(fn):
        RIGHT.append((f"fitted_{fn.__name__}", grade, {function: fn}))
        return fn
    return add


# ---- 02: numerical_gradient, another combination of f values ---------------------------------------
def _stencil(f, x, eps, offsets, weights, scale):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        saved, total = x[i], 0.0
        for offset, weight in zip(offsets, weights):
            x[i] = saved + offset * eps
            total += weight * f(x)
        x[i] = saved
        grad[i] = total / (scale * eps)
    return grad


@entry("check_numerical_gradient", "numerical_gradient",
       "(f(x + 2eps) + 8 f(x + eps) - 8 f(x - eps) - f(x - 2eps)) / (12 eps)")
def ng_five_point_outer_signs(f, x, eps=1e-6):
    return _stencil(f, x, eps, (2, 1, -1, -2), (1, 8, -8, -1), 12)


@entry("check_numerical_gradient", "numerical_gradient", "(3 f(x + eps) - 2 f(x) - f(x - eps)) / (4 eps)")
def ng_central_and_forward_averaged(f, x, eps=1e-6):
    return _stencil(f, x, eps, (1, 0, -1), (3, -2, -1), 4)


# ---- 02: relative_error, its formula in parts -----------------------------------------------------
def _ratios(a, b, top=lambda a, b: np.abs(a - b), bottom=lambda a, b: np.maximum(np.abs(a), np.abs(b))):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = bottom(a, b)
    return top(a, b) / np.where(scale == 0, 1.0, scale)


@entry("check_relative_error", "relative_error", "first entry's error only")
def re_first_entry(a, b):
    return float(_ratios(a, b).flat[0])


@entry("check_relative_error", "relative_error", "square root of the result")
def re_sqrt(a, b):
    return float(np.sqrt(np.max(_ratios(a, b))))


@entry("check_relative_error", "relative_error", "median of the entries' errors")
def re_median(a, b):
    return float(np.median(_ratios(a, b)))


@entry("check_relative_error", "relative_error", "mean of the entries' errors", "min(|a|, |b|)")
def re_mean_over_smaller(a, b):
    return float(np.mean(_ratios(a, b, bottom=lambda a, b: np.minimum(np.abs(a), np.abs(b)))))


@entry("check_relative_error", "relative_error", "np.maximum(np.abs(a), np.abs(b))")
def re_np_max_of_two(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.max(np.abs(a), np.abs(b))
    return float(np.max(np.abs(a - b) / np.where(scale == 0, 1.0, scale)))


@entry("check_relative_error", "relative_error", "Python's max", "np.maximum(abs(a), abs(b))")
def re_builtin_max_of_two(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / max(abs(a), abs(b))))


@right("check_relative_error", "relative_error")
def re_loop_with_builtin_max(a, b):
    worst = 0.0
    for x, y in zip(np.ravel(a), np.ravel(b)):
        scale = max(abs(float(x)), abs(float(y)))
        worst = max(worst, abs(float(x) - float(y)) / scale if scale else 0.0)
    return worst


# ---- 03: conv2d_naive, the window's products reduced or combined another way ------------------------
def _naive(x, weight, bias, stride, padding, combine, with_bias):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    window = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, ch, i, j] = combine(window, weight[ch])
            if bias is not None:
                out[item, ch] = with_bias(out[item, ch], bias[ch])
    return out


def _add(plane, b):
    return plane + b


@entry("check_conv2d_naive", "conv2d_naive", "largest of the window's products")
def naive_max_of_products(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, lambda win, k: np.max(win * k), _add)


@entry("check_conv2d_naive", "conv2d_naive", "smallest of the window's products")
def naive_min_of_products(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, lambda win, k: np.min(win * k), _add)


@entry("check_conv2d_naive", "conv2d_naive", "bias multiplies the output")
def naive_bias_multiplied(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, lambda win, k: np.sum(win * k),
                  lambda plane, b: plane * b)


@entry("check_conv2d_naive", "conv2d_naive", "axis order (a, b, c)")
def naive_kernel_channel_last(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding,
                  lambda win, k: np.dot(win.ravel(), k.transpose(1, 2, 0).ravel()), _add)


@entry("check_conv2d_naive", "conv2d_naive", "axis order (a, c, b)")
def naive_kernel_channel_in_the_middle(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding,
                  lambda win, k: np.dot(win.ravel(), k.transpose(1, 0, 2).ravel()), _add)


@right("check_conv2d_naive", "conv2d_naive")
def naive_tensordot(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding,
                  lambda win, k: float(np.tensordot(win, k, axes=3)), _add)


# ---- 03: conv2d_forward, the matrix never reshaped back ------------------------------------------
@entry("check_conv2d_forward", "conv2d_forward", "reshape it to", ".transpose(0, 3, 1, 2)")
def conv2d_forward_matrix_returned(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = i2c(xpad, kh, kw, sh, sw)
    out = cols @ weight.reshape(o, -1).T
    return out + bias[0] if bias else out


# ---- 03: winograd_tile, a transform matrix typed by hand ------------------------------------------
def _winograd(d, g, a_t=A_T, g_m=G):
    return a_t @ ((g_m @ g @ g_m.T) * (B_T @ d @ B_T.T)).sum(axis=0) @ a_t.T


@entry("check_winograd_tile", "winograd_tile", "A_T[1, 3] = 1 where the lesson's has -1")
def wino_a_t_last_sign(d, g):
    return _winograd(d, g, a_t=np.array([[1, 1, 1, 0], [0, 1, -1, 1]], dtype=np.float64))


@entry("check_winograd_tile", "winograd_tile", "G[2, 1] = 0.5 where the lesson's has -0.5")
def wino_g_minus_half_lost(d, g):
    return _winograd(d, g, g_m=np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0, 0, 1]]))


@entry("check_winograd_tile", "winograd_tile", "G[1, 0] = 1 where the lesson's has 0.5")
def wino_g_without_halves(d, g):
    return _winograd(d, g, g_m=np.array([[1, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 1]], dtype=np.float64))


@right("check_winograd_tile", "winograd_tile")
def wino_channel_loop(d, g):
    out = np.zeros((2, 2))
    for dc, gc in zip(d, g):
        out += A_T @ ((G @ gc @ G.T) * (B_T @ dc @ B_T.T)) @ A_T.T
    return out


# ---- 04: max_pool2d forward, another pick from each window -------------------------------------
def _pool(ctx, x, kernel, stride, padding, pick):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return pick(cols).reshape(n, c, ho, wo)


@entry("check_max_pool2d_forward", "max_pool2d_forward", "each window's first entry")
def pool_first_entry(ctx, x, kernel, stride, padding):
    return _pool(ctx, x, kernel, stride, padding, lambda cols: cols[:, 0])


@entry("check_max_pool2d_forward", "max_pool2d_forward", "each window's last entry")
def pool_last_entry(ctx, x, kernel, stride, padding):
    return _pool(ctx, x, kernel, stride, padding, lambda cols: cols[:, -1])


@entry("check_max_pool2d_forward", "max_pool2d_forward", "each window's median")
def pool_median(ctx, x, kernel, stride, padding):
    return _pool(ctx, x, kernel, stride, padding, lambda cols: np.median(cols, axis=1))


# ---- 05: conv_transpose2d forward, one sample's pixels for every sample ------------------------------
@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "the right values of sample 0")
def ct_forward_sample_zero_everywhere(ctx, x, weight, *bias, stride, padding, output_padding):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = np.tile(x[0].transpose(1, 2, 0).reshape(h * w, c), (n, 1))
    out = c2i(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)[:, :, ph:full[2] - ph, pw:full[3] - pw]
    return out + bias[0][:, None, None] if bias else out


# ---- exceptions: a loop that runs past the last window -------------------------------------------
@entry("check_conv2d_naive", "conv2d_naive", "`for j in range(ho)` reaches j", "run it over range(wo)")
def naive_width_loop_over_height_count(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for item in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(ho):
                    window = xpad[item, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[item, ch, i, j] = np.sum(window * weight[ch])
    return out if bias is None else out + bias[None, :, None, None]
