"""Wrong answers for lessons 02-05 whose symptom has more than one cause (a step too small or a
float32 result, a stride left out on one axis or a loop stopped short, a window count from the
other axis's rule or a wrong start, a forward that saved another value in ctx or an int
argument), each class in a few forms, and right answers written differently; entries follow
tests/test_checks_catalogue.py."""
import numpy as np
from minitorch_unet.convolution import col2im as c2i, im2col as i2c
from test_checks_catalogue import Mistake

CAUSES: list[Mistake] = []
RIGHT: list[tuple[str, str, dict]] = []
NOT_NAMED_YET: list[Mistake] = []


def entry(grade, function, *words, also=None):
    def add(fn):
        CAUSES.append(Mistake(f"causes_{fn.__name__}", grade, {function: fn, **(also or {})}, words))
        return fn
    return add


def gap(grade, function, *words):
    def add(fn):
        NOT_NAMED_YET.append(Mistake(f"causes_{fn.__name__}", grade, {function: fn}, words))
        return fn
    return add


def right(grade, function, also=None):
    def add(fn):
        RIGHT.append((f"causes_{fn.__name__}", grade, {function: fn, **(also or {})}))
        return fn
    return add


# ---- 02: numerical_gradient, a step of its own ---------------------------------------------------
def _central(f, x, step):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        s = x[i]
        x[i] = s + step; fp = f(x)
        x[i] = s - step; fm = f(x)
        x[i] = s
        grad[i] = (fp - fm) / (2 * step)
    return grad


@entry("check_numerical_gradient", "numerical_gradient", "1e-12", "ignore the eps argument")
def ng_step_fixed_at_1e_12(f, x, eps=1e-6):
    eps = 1e-12
    return _central(f, x, eps)


@entry("check_numerical_gradient", "numerical_gradient", "1e-10", "ignore the eps argument")
def ng_flat_step_fixed_at_1e_10(f, x, eps=1e-6):
    h = 1e-10
    grad = np.zeros_like(x, dtype=np.float64)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        v = flat[k]
        flat[k] = v + h; up = f(x)
        flat[k] = v - h; down = f(x)
        flat[k] = v
        out[k] = (up - down) / (2 * h)
    return grad


@entry("check_numerical_gradient", "numerical_gradient", "0.01", "not the eps given")
def ng_step_fixed_at_1e_2(f, x, eps=1e-6):
    return _central(f, x, 1e-2)


@right("check_numerical_gradient", "numerical_gradient")
def ng_nditer_float64(f, x, eps=1e-6):
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        i = it.multi_index
        old = float(x[i])
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2.0 * eps)
        it.iternext()
    return grad


# ---- 02: relative_error, a floor at another value, on another denominator --------------------------
def _f64(a, b):
    return np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)


@entry("check_relative_error", "relative_error", "floored", "at 1")
def re_floor_at_one(a, b):
    a, b = _f64(a, b)
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0)))


@entry("check_relative_error", "relative_error", "|a| + |b|", "floored", "at 1")
def re_sum_floored_at_one(a, b):
    a, b = _f64(a, b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1.0)))


@entry("check_relative_error", "relative_error", "|b| alone", "floored", "at 0.1")
def re_b_floored_at_a_tenth(a, b):
    a, b = _f64(a, b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 0.1)))


@entry("check_relative_error", "relative_error", "floored", "at 1")
def re_clip_at_one(a, b):
    a, b = _f64(a, b)
    return float((np.abs(a - b) / np.clip(np.maximum(np.abs(a), np.abs(b)), 1, None)).max())


# ---- 03: conv2d_naive -----------------------------------------------------------------------------
def _naive(x, weight, bias, stride, padding, bug=""):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for b in range(n):
        for oc in range(o):
            for i in range(ho):
                for j in range(wo):
                    r = i if bug == "rows_unstrided" else i * stride
                    q = j if bug == "columns_unstrided" else j * stride
                    win = xpad[b, :, r:r + kh, q:q + kw]
                    if bug == "whole_bias" and bias is not None:
                        out[b, oc, i, j] = np.sum(win * weight[oc]) + bias
                    else:
                        out[b, oc, i, j] = np.sum(win * weight[oc]) + (0 if bias is None else bias[oc])
    return out


@entry("check_conv2d_naive", "conv2d_naive", "columns", "stride")
def naive_columns_unstrided(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, "columns_unstrided")


@entry("check_conv2d_naive", "conv2d_naive", "rows", "stride")
def naive_rows_unstrided(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, "rows_unstrided")


@entry("check_conv2d_naive", "conv2d_naive", "bias[oc]")
def naive_whole_bias_vector(x, weight, bias=None, stride=1, padding=0):
    return _naive(x, weight, bias, stride, padding, "whole_bias")


@entry("check_conv2d_naive", "conv2d_naive", "bias[k]")
def naive_whole_bias_in_a_sum(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (xp.shape[2] - kh) // stride + 1, (xp.shape[3] - kw) // stride + 1
    y = np.zeros((n, o, ho, wo))
    for m in range(n):
        for k in range(o):
            for i in range(ho):
                for j in range(wo):
                    t = xp[m, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    y[m, k, i, j] = (t * weight[k]).sum() + (bias if bias is not None else 0)
    return y


# ---- 03: im2col / col2im, a window count from the other axis's rule --------------------------------
@entry("check_im2col", "im2col", "(w - kw) // sw + 1", "`sh`")
def im2col_width_count_with_sh(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sh + 1
    rows = []
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                rows.append(x[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(-1))
    return np.array(rows)


@entry("check_im2col", "im2col", "(H - kh) // sh + 1", "`sw`")
def im2col_height_count_with_sw(x, kh, kw, sh, sw):
    N, C, H, W = x.shape
    Ho = (H - kh) // sw + 1
    Wo = (W - kw) // sw + 1
    cols = np.zeros((N * Ho * Wo, C * kh * kw))
    r = 0
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                cols[r] = x[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw].ravel()
                r += 1
    return cols


@entry("check_im2col", "im2col", "(w - kw) // sw + 1", "`kh`")
def im2col_width_count_with_kh(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    out_h = (h - kh) // sh + 1
    out_w = (w - kh) // sw + 1
    rows = []
    for b in range(n):
        for i in range(out_h):
            for j in range(out_w):
                rows.append(x[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw].flatten())
    return np.stack(rows)


@entry("check_col2im", "col2im", "`wo` is set to `ho`")
def col2im_width_count_is_the_heights(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho = (h - kh) // sh + 1
    wo = ho
    out = np.zeros(shape)
    r = 0
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                out[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += cols[r].reshape(c, kh, kw)
                r += 1
    return out


@entry("check_col2im", "col2im", "(h - kh) // sh + 1", "`sw`")
def col2im_height_count_with_sw(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sw + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                r = (b * ho + i) * wo + j
                out[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += cols[r].reshape(c, kh, kw)
    return out


# ---- 03: conv2d forward / backward, what the forward saved in ctx ----------------------------------
def _forward(ctx, x, weight, bias, stride, padding, bug=""):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride = {"one_stride": stride[0], "kernel_as_stride": (kh, kw),
                  "padding_as_stride": padding}.get(bug, stride)
    ctx.padding = stride if bug == "stride_as_padding" else padding
    ctx.has_bias = bool(bias)
    if bias:
        out = out + bias[0].reshape(1, -1, 1, 1)
    return out


def _backward(ctx, grad, bug=""):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    n, _, hp, wp = ctx.padded_shape
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grad_cols = ctx.weight.reshape(o, -1).T @ g.T if bug == "no_final_T" else g @ ctx.weight.reshape(o, -1)
    grad_x = c2i(grad_cols, ctx.padded_shape, kh, kw, sh, sw)[:, :, ph:hp - ph, pw:wp - pw]
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    grad_bias = {"bias_total": np.full(o, g.sum()), "bias_mean": g.mean(axis=0)}.get(bug, g.sum(axis=0))
    return (grad_x, grad_weight, grad_bias) if ctx.has_bias else (grad_x, grad_weight)


def backward_with(bug):
    def conv2d_backward(ctx, grad):
        return _backward(ctx, grad, bug)
    return conv2d_backward


CAUSES += [
    Mistake("causes_conv2d_backward_bias_total", "check_conv2d",
            {"conv2d_backward": backward_with("bias_total")}, ("every channel", "total")),
    Mistake("causes_conv2d_backward_bias_mean", "check_conv2d",
            {"conv2d_backward": backward_with("bias_mean")}, ("mean",)),
]


@entry("check_conv2d", "conv2d_forward", "`ctx.stride = stride[0]`", "one entry")
def conv2d_forward_saves_one_stride(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride = stride[0]
    ctx.padding, ctx.has_bias = padding, bool(bias)
    return out + bias[0].reshape(1, -1, 1, 1) if bias else out


@entry("check_conv2d", "conv2d_forward", "`ctx.stride = (kh, kw)`", "weight")
def conv2d_forward_saves_the_kernel_as_stride(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride = (kh, kw)
    ctx.padding = padding
    ctx.has_bias = bool(bias)
    return out + bias[0].reshape(1, -1, 1, 1) if bias else out


@entry("check_conv2d", "conv2d_forward", "ctx.padding holds (1, 1) (the stride's value)", "given is (0, 0)")
def conv2d_forward_saves_the_stride_as_padding(ctx, x, weight, *bias, stride, padding):
    sh, sw = stride
    ph, pw = padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride = stride
    ctx.padding = stride
    ctx.has_bias = bool(bias)
    return out + bias[0].reshape(1, -1, 1, 1) if bias else out


@right("check_conv2d", "conv2d_forward")
def conv2d_forward_saves_pairs_made_first(ctx, x, weight, *bias, stride, padding):
    s = tuple(int(v) for v in stride)
    p = tuple(padding)
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    ho, wo = (xpad.shape[2] - kh) // s[0] + 1, (xpad.shape[3] - kw) // s[1] + 1
    cols = i2c(xpad, kh, kw, *s)
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding = s, p
    ctx.has_bias = bool(bias)
    return out + bias[0].reshape(1, -1, 1, 1) if bias else out




# ---- 05: conv_transpose2d, the bias gradient's axes and im2col's stride in the backward --------------
def ct_forward(ctx, x, weight, *bias, stride, padding, output_padding):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = c2i(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)[:, :, ph:full[2] - ph, pw:full[3] - pw]
    ctx.x2, ctx.weight, ctx.full, ctx.xshape = x2, weight, full, x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out + bias[0][:, None, None] if bias else out


def _ct_backward(ctx, grad, bug=""):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    grad_full = np.zeros(ctx.full)
    grad_full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    grad_cols = i2c(grad_full, kh, kw, 1, 1) if bug == "i2c_stride_one" else i2c(grad_full, kh, kw, sh, sw)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    if not ctx.has_bias:
        return grad_x, grad_weight
    grad_bias = np.full(o, grad.sum()) if bug == "bias_total" else grad.sum(axis=(0, 2, 3))
    return grad_x, grad_weight, grad_bias


def ct_backward_with(bug):
    def conv_transpose2d_backward(ctx, grad):
        return _ct_backward(ctx, grad, bug)
    return conv_transpose2d_backward


CAUSES += [
    Mistake("causes_ct_backward_bias_total", "check_conv_transpose2d",
            {"conv_transpose2d_forward": ct_forward,
             "conv_transpose2d_backward": ct_backward_with("bias_total")}, ("every channel", "total")),
]
RIGHT.append(("causes_ct_forward_and_backward", "check_conv_transpose2d",
              {"conv_transpose2d_forward": ct_forward,
               "conv_transpose2d_backward": ct_backward_with("")}))
CAUSES.append(Mistake("causes_ct_backward_im2col_stride_one", "check_conv_transpose2d",
                      {"conv_transpose2d_forward": ct_forward,
                       "conv_transpose2d_backward": ct_backward_with("i2c_stride_one")},
                      ("i2c(grad_full, kh, kw, 1, 1)", "sh=1, sw=1 while your own sh=2, sw=2")))
CAUSES.append(Mistake("causes_conv2d_backward_grad_cols_without_the_final_T", "check_conv2d",
                      {"conv2d_backward": backward_with("no_final_T")}, ("grad_cols is built transposed",)))


# ---- 04: max-pool backward, a scatter with one index array ----------------------------------------
def pool_forward(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax = cols.argmax(axis=1)
    ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
    return cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)


def pool_backward_with(scatter):
    def max_pool2d_backward(ctx, grad):
        (kh, kw), (sh, sw), (ph, pw) = ctx.params
        n, c, hp, wp = ctx.padded_shape
        grad_cols = np.zeros((len(ctx.argmax), kh * kw))
        scatter(grad_cols, ctx.argmax, grad.reshape(-1))
        gx = c2i(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
        return gx[:, :, ph:hp - ph, pw:wp - pw]
    return max_pool2d_backward


def _every_row(cols, idx, g):
    cols[:, idx] = g


def _paired(cols, idx, g):
    np.add.at(cols, (np.arange(len(idx)), idx), g)


CAUSES.append(Mistake("causes_pool_backward_every_row_scatter", "check_max_pool2d",
                      {"max_pool2d_forward": pool_forward,
                       "max_pool2d_backward": pool_backward_with(_every_row)},
                      ("argmax alone", "np.arange(len(argmax)), argmax")))
RIGHT.append(("causes_pool_backward_add_at", "check_max_pool2d",
              {"max_pool2d_forward": pool_forward, "max_pool2d_backward": pool_backward_with(_paired)}))


def pool_backward_rows_with_every_index(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    rows = np.zeros((len(ctx.argmax), kh * kw))
    rows[:, ctx.argmax] += grad.reshape(-1, 1)   # every row at every saved offset
    gx = c2i(rows, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return gx[:, :, ph:hp - ph, pw:wp - pw]


def pool_backward_one_offset_at_a_time(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    rows = np.zeros((len(ctx.argmax), kh * kw))
    for f in range(kh * kw):
        rows[:, f] = np.where(ctx.argmax == f, grad.reshape(-1), 0.0)
    gx = c2i(rows, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return gx[:, :, ph:hp - ph, pw:wp - pw]


CAUSES.append(Mistake("causes_pool_backward_rows_with_every_index", "check_max_pool2d",
                      {"max_pool2d_forward": pool_forward,
                       "max_pool2d_backward": pool_backward_rows_with_every_index},
                      ("`rows[:, ctx.argmax] += ...` pairs every row with every saved index",
                       "rows[np.arange(len(ctx.argmax)), ctx.argmax]")))
RIGHT.append(("causes_pool_backward_one_offset_at_a_time", "check_max_pool2d",
              {"max_pool2d_forward": pool_forward,
               "max_pool2d_backward": pool_backward_one_offset_at_a_time}))


def pool_forward_argmax_on(axis):
    def max_pool2d_forward(ctx, x, kernel, stride, padding):
        (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
        n, c = x.shape[:2]
        xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
        ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
        cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
        ctx.argmax = np.argmax(cols, axis=axis)
        ctx.padded_shape, ctx.params = xpad.shape, (kernel, stride, padding)
        return cols.max(axis=1).reshape(n, c, ho, wo)
    return max_pool2d_forward


def pool_forward_argmax_down_the_columns(ctx, x, kernel, stride, padding):
    out = pool_forward_argmax_on(-1)(ctx, x, kernel, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ctx.argmax = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw).argmax(axis=0)
    return out


CAUSES.append(Mistake("causes_pool_forward_argmax_down_the_columns", "check_max_pool2d",
                      {"max_pool2d_forward": pool_forward_argmax_down_the_columns,
                       "max_pool2d_backward": pool_backward_with(_paired)},
                      ("your forward saves `ctx.argmax = ", ".argmax(axis=0)`",
                       "take the argmax within each row, axis=1")))
RIGHT.append(("causes_pool_forward_argmax_on_the_last_axis", "check_max_pool2d",
              {"max_pool2d_forward": pool_forward_argmax_on(-1),
               "max_pool2d_backward": pool_backward_with(_paired)}))


def pool_forward_saving(stride_rule):
    def max_pool2d_forward(ctx, x, kernel, stride, padding):
        (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
        n, c = x.shape[:2]
        xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
        ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
        cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
        ctx.argmax, ctx.padded_shape = cols.argmax(axis=1), xpad.shape
        ctx.kernel, ctx.stride, ctx.padding = kernel, stride_rule(kernel, stride, padding), padding
        return cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)
    return max_pool2d_forward


def pool_backward_from_ctx(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.kernel, ctx.stride, ctx.padding
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw))
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = grad.reshape(-1)
    gx = c2i(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return gx[:, :, ph:hp - ph, pw:wp - pw]


def pool_forward_saves_the_padding_as_stride(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax, ctx.padded_shape = cols.argmax(axis=1), xpad.shape
    ctx.kernel, ctx.stride, ctx.padding = kernel, padding, padding
    return cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)


CAUSES.append(Mistake("causes_pool_forward_saves_the_padding_as_stride", "check_max_pool2d",
                      {"max_pool2d_forward": pool_forward_saves_the_padding_as_stride,
                       "max_pool2d_backward": pool_backward_from_ctx},
                      ("your forward saves `ctx.stride = padding`", "save `ctx.stride = stride`")))
RIGHT.append(("causes_pool_forward_saves_its_arguments", "check_max_pool2d",
              {"max_pool2d_forward": pool_forward_saving(lambda k, s, p: s),
               "max_pool2d_backward": pool_backward_from_ctx}))


# ---- more forms: a stride left out on one axis, a precedence slip, a step from eps ---------------
@entry("check_col2im", "col2im", "not applied to the columns")
def col2im_columns_unstrided(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    r = 0
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                out[b, :, i * sh:i * sh + kh, j:j + kw] += cols[r].reshape(c, kh, kw)
                r += 1
    return out


@entry("check_relative_error", "relative_error", "the division binds before the addition")
def re_denominator_without_parentheses(a, b):
    a, b = _f64(a, b)
    return float(np.max(np.abs(a - b) / np.abs(b) + np.abs(a)))


@entry("check_numerical_gradient", "numerical_gradient", "nudged by eps**2", "not the eps given")
def ng_step_eps_squared(f, x, eps=1e-6):
    return _central(f, x, eps ** 2)


@entry("check_im2col", "im2col", "the column j + b", "5*j + b")
def im2col_columns_unstrided(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    rows = []
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                rows.append(x[b, :, i * sh:i * sh + kh, j:j + kw].reshape(-1))
    return np.array(rows)


@entry("check_max_pool2d_forward", "max_pool2d_forward", "not applied to the columns")
def pool_forward_columns_unstrided(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    n, c, hp, wp = xpad.shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = xpad[:, :, i * sh:i * sh + kh, j:j + kw].max(axis=(2, 3))
    cols = i2c(xpad.reshape(n * c, 1, hp, wp), kh, kw, sh, sw)
    ctx.argmax, ctx.padded_shape = cols.argmax(axis=1), xpad.shape
    ctx.params = (kernel, stride, padding)
    return out


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "not applied to the rows")
def ct_forward_rows_unstrided(ctx, x, weight, *bias, stride, padding, output_padding):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    out = np.zeros((n, o, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw))
    for i in range(h):
        for j in range(w):
            out[:, :, i:i + kh, j * sw:j * sw + kw] += np.einsum("nc,cokl->nokl", x[:, :, i, j], weight)
    out = out[:, :, ph:out.shape[2] - ph, pw:out.shape[3] - pw]
    return out + bias[0][:, None, None] if bias else out


_B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
_A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


@entry("check_winograd_tile", "winograd_tile", "sum over axis -1; over axis 0 it is (4, 4)")
def wino_channels_summed_on_the_last_axis(d, g):
    m = ((_G @ g @ _G.T) * (_B_T @ d @ _B_T.T)).sum(axis=-1)
    return _A_T @ m @ _A_T.T


@right("check_winograd_tile", "winograd_tile")
def wino_channel_loop(d, g):
    m = np.zeros((4, 4))
    for ch in range(d.shape[0]):
        m += (_G @ g[ch] @ _G.T) * (_B_T @ d[ch] @ _B_T.T)
    return _A_T @ m @ _A_T.T


@entry("check_conv2d", "conv2d_forward", "`ctx.padded_shape = x.shape`", "unpadded argument `x`")
def conv2d_forward_saves_the_unpadded_shape(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    ctx.cols, ctx.weight = cols, weight
    ctx.padded_shape = x.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out + bias[0].reshape(1, -1, 1, 1) if bias else out


def _conv2d_forward_right(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out + bias[0].reshape(1, -1, 1, 1) if bias else out


@entry("check_conv2d", "conv2d_forward", "`ctx.padded_shape = x.shape`", "unpadded argument `x`",
       "save `ctx.padded_shape = xpad.shape`")
def conv2d_forward_overwrites_the_padded_shape(ctx, x, weight, *bias, stride, padding):
    out = _conv2d_forward_right(ctx, x, weight, *bias, stride=stride, padding=padding)
    ctx.padded_shape = x.shape   # a helper saved the padded shape; this overwrites it
    return out


@right("check_conv2d", "conv2d_forward")
def conv2d_forward_through_a_helper(ctx, x, weight, *bias, stride, padding):
    out = _conv2d_forward_right(ctx, x, weight, *bias, stride=stride, padding=padding)
    ctx.has_bias = len(bias) == 1
    return out


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _function(lesson, name):
    from test_checks_catalogue import solution
    return solution(lesson)[name]


@entry("check_conv2d_forward", "conv2d", "`conv2d` never uses its argument `bias`",
       "Conv2dFunction.apply never receives it", "pass bias on to Conv2dFunction.apply")
def conv2d_wrapper_drops_the_bias(input, weight, bias=None, stride=1, padding=0):
    Conv2dFunction = _function("03_convolution", "Conv2dFunction")
    return Conv2dFunction.apply(input, weight, stride=_pair(stride), padding=_pair(padding))


@right("check_conv2d_forward", "conv2d")
def conv2d_wrapper_with_a_list_of_tensors(input, weight, bias=None, stride=1, padding=0):
    Conv2dFunction = _function("03_convolution", "Conv2dFunction")
    tensors = [input, weight] + ([bias] if bias is not None else [])
    return Conv2dFunction.apply(*tensors, stride=_pair(stride), padding=_pair(padding))


@entry("check_conv_transpose2d_forward", "conv_transpose2d",
       "passes output_padding=(0, 0) to ConvTranspose2dFunction.apply, not its own argument",
       "pass output_padding=output_padding")
def conv_transpose2d_wrapper_fixes_output_padding(input, weight, bias=None, stride=1, padding=0,
                                                  output_padding=0):
    ConvTranspose2dFunction = _function("05_transposed_convolution", "ConvTranspose2dFunction")
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return ConvTranspose2dFunction.apply(*tensors, stride=_pair(stride), padding=_pair(padding),
                                         output_padding=(0, 0))


@entry("check_relative_error", "relative_error", "max |a - b| by max(|a| + |b|)")
def re_largest_difference_over_largest_sum(a, b):
    a, b = _f64(a, b)
    scale = np.max(np.abs(a) + np.abs(b))
    return float(np.max(np.abs(a - b)) / scale) if scale else 0.0


@entry("check_relative_error", "relative_error", "sum |a - b| by max(sum |a|, sum |b|)")
def re_total_difference_over_larger_total(a, b):
    a, b = _f64(a, b)
    scale = max(np.abs(a).sum(), np.abs(b).sum())
    return float(np.abs(a - b).sum() / scale) if scale else 0.0


@right("check_relative_error", "relative_error")
def re_entry_loop(a, b):
    worst = 0.0
    for x, y in zip(np.ravel(a), np.ravel(b)):
        scale = max(abs(float(x)), abs(float(y)))
        if scale:
            worst = max(worst, abs(float(x) - float(y)) / scale)
    return worst


def pool_backward_from_params(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    grad_cols = np.zeros((len(ctx.argmax), kh * kw))
    grad_cols[np.arange(len(ctx.argmax)), ctx.argmax] = grad.reshape(-1)
    gx = c2i(grad_cols, (n * c, 1, hp, wp), kh, kw, sh, sw).reshape(n, c, hp, wp)
    return gx[:, :, ph:hp - ph, pw:wp - pw]


def pool_forward_saves_the_kernel_twice(ctx, x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c = x.shape[:2]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad.reshape(n * c, 1, *xpad.shape[2:]), kh, kw, sh, sw)
    ctx.argmax, ctx.padded_shape = cols.argmax(axis=1), xpad.shape
    ctx.params = (kernel, kernel, padding)
    return cols[np.arange(len(cols)), ctx.argmax].reshape(n, c, ho, wo)


CAUSES.append(Mistake("causes_pool_forward_saves_the_kernel_twice", "check_max_pool2d",
                      {"max_pool2d_forward": pool_forward_saves_the_kernel_twice,
                       "max_pool2d_backward": pool_backward_from_params},
                      ("`kernel` twice and `stride` not at all",)))


# ---- 03: the bias vector used whole, or indexed by another loop's variable ------------------------
def _naive_bias(x, weight, bias, stride, padding, how):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (xp.shape[2] - kh) // stride + 1, (xp.shape[3] - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for b in range(n):
        for oc in range(o):
            for i in range(ho):
                for j in range(wo):
                    win = xp[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[b, oc, i, j] = np.sum(win * weight[oc]) + \
                        (bias[b] if how == "by_sample" and bias is not None else 0)
            if bias is not None and how == "plane":
                out[b, oc] += bias
    return out


@entry("check_conv2d_naive", "conv2d_naive", "`bias[oc]`", "whole vector")
def naive_whole_bias_added_to_a_plane(x, weight, bias=None, stride=1, padding=0):
    return _naive_bias(x, weight, bias, stride, padding, "plane")


@entry("check_conv2d_naive", "conv2d_naive", "indexed by the sample loop's variable")
def naive_bias_indexed_by_the_sample(x, weight, bias=None, stride=1, padding=0):
    return _naive_bias(x, weight, bias, stride, padding, "by_sample")


@entry("check_im2col", "im2col", "uses `kh` where `kw` belongs", "the reshape fits")
def im2col_windows_view_width_count_with_kh(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kh) // sw + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return win[:, :, :ho, :wo].transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, -1)


@right("check_im2col", "im2col")
def im2col_windows_view(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return win[:, :, :ho, :wo].transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, -1)


def _flat_first_row(cols, idx, g):
    cols.flat[idx] = g


CAUSES.append(Mistake("causes_pool_backward_flat_index_without_row_offset", "check_max_pool2d",
                      {"max_pool2d_forward": pool_forward,
                       "max_pool2d_backward": pool_backward_with(_flat_first_row)},
                      ("rows.flat[argmax]", "offset each by its row")))


# ---- the same classes written through a helper with a switch (`a if bug else b`) --------------------
def _im2col_switched(x, kh, kw, sh, sw, bug):
    n, c, h, w = x.shape
    ho = (h - kh) // sh + 1
    wo = (w - kw) // sh + 1 if bug == "wo_sh" else (w - kw) // sw + 1
    rows = []
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                if bug == "ij_swapped":
                    rows.append(x[b, :, j * sh:j * sh + kh, i * sw:i * sw + kw].reshape(-1))
                else:
                    rows.append(x[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(-1))
    return np.array(rows)


def im2col_switched(bug, *words):
    def im2col(x, kh, kw, sh, sw):
        return _im2col_switched(x, kh, kw, sh, sw, bug)
    CAUSES.append(Mistake(f"causes_im2col_switched_{bug}", "check_im2col", {"im2col": im2col}, words))


im2col_switched("wo_sh", "uses `sh` where this axis's `sw` belongs")
im2col_switched("ij_swapped", "the two loop variables are swapped")


def _forward_switched(ctx, x, weight, bias, stride, padding, bug):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride = stride if bug != "kernel_as_stride" else (kh, kw)
    ctx.padding, ctx.has_bias = padding, bool(bias)
    return out + bias[0].reshape(1, -1, 1, 1) if bias else out


def conv2d_forward_switched(bug):
    def conv2d_forward(ctx, x, weight, *bias, stride, padding):
        return _forward_switched(ctx, x, weight, bias, stride, padding, bug)
    return conv2d_forward


CAUSES.append(Mistake("causes_conv2d_forward_switched_kernel_as_stride", "check_conv2d",
                      {"conv2d_forward": conv2d_forward_switched("kernel_as_stride")},
                      ("`ctx.stride = (kh, kw)`",)))
RIGHT.append(("causes_conv2d_forward_switched_right", "check_conv2d",
              {"conv2d_forward": conv2d_forward_switched("")}))
RIGHT.append(("causes_im2col_switched_right", "check_im2col",
              {"im2col": lambda x, kh, kw, sh, sw: _im2col_switched(x, kh, kw, sh, sw, "")}))


@entry("check_conv_transpose2d_forward", "conv_transpose2d_forward", "does not fit the columns",
       "(4 - 1) * 2 + 2 = 8 makes the 4 it needs")
def ct_forward_full_size_without_the_minus_one(ctx, x, weight, *bias, stride, padding, output_padding):
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c, h, w = x.shape
    o, kh, kw = weight.shape[1:]
    full = (n, o, h * sh + kh + oph, w * sw + kw + opw)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out = c2i(x2 @ weight.reshape(c, -1), full, kh, kw, sh, sw)[:, :, ph:full[2] - ph, pw:full[3] - pw]
    return out + bias[0][:, None, None] if bias else out


@entry("check_max_pool2d", "max_pool2d_backward", "not applied to the columns",
       also={"max_pool2d_forward": pool_forward})
def pool_backward_columns_unstrided(ctx, grad):
    (kh, kw), (sh, sw), (ph, pw) = ctx.params
    n, c, hp, wp = ctx.padded_shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    gx = np.zeros((n * c, hp, wp))
    g = grad.reshape(-1)
    for r in range(len(ctx.argmax)):
        b, i, j = r // (ho * wo), (r // wo) % ho, r % wo
        di, dj = divmod(int(ctx.argmax[r]), kw)
        gx[b, i * sh + di, j + dj] += g[r]
    return gx.reshape(n, c, hp, wp)[:, :, ph:hp - ph, pw:wp - pw]


@entry("check_numerical_gradient", "numerical_gradient", "op_flags=['readwrite']")
def ng_nditer_read_only(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        it[0] = old + eps
        fp = f(x)
        x[i] = old - eps
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * eps)
    return grad


@entry("check_conv2d_naive", "conv2d_naive", "`bias[q]`")
def naive_whole_bias_after_a_sum_line(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (xp.shape[2] - kh) // stride + 1, (xp.shape[3] - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for p in range(n):
        for q in range(o):
            kernel = weight[q]
            for i in range(ho):
                for j in range(wo):
                    total = np.sum(xp[p, :, i * stride:i * stride + kh, j * stride:j * stride + kw] * kernel)
                    out[p, q, i, j] = total + bias if bias is not None else total
    return out


def col2im(cols, shape, kh, kw, sh, sw):
    """A learner's col2im, window by window (the course's is imported as c2i)."""
    n, c, h, w = shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros(shape)
    r = 0
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                out[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += cols[r].reshape(c, kh, kw)
                r += 1
    return out


def conv2d_backward_transposed_into_own_col2im(ctx, grad):
    (sh, sw), (ph, pw) = ctx.stride, ctx.padding
    o, c, kh, kw = ctx.weight.shape
    n, _, hp, wp = ctx.padded_shape
    g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
    grad_x = col2im(ctx.weight.reshape(o, -1).T @ g.T, ctx.padded_shape, kh, kw, sh, sw)
    grad_weight = (g.T @ ctx.cols).reshape(ctx.weight.shape)
    grad_x = grad_x[:, :, ph:hp - ph, pw:wp - pw]
    return (grad_x, grad_weight, g.sum(axis=0)) if ctx.has_bias else (grad_x, grad_weight)


CAUSES.append(Mistake("causes_conv2d_backward_transposed_cols_into_own_col2im", "check_conv2d",
                      {"conv2d_backward": conv2d_backward_transposed_into_own_col2im},
                      ("the transpose of the (25, 9) it takes",)))
RIGHT.append(("causes_conv2d_with_a_loop_col2im", "check_conv2d", {"col2im": col2im}))


@entry("check_conv2d", "conv2d_forward", "`ctx.padding` holds 4 entries", "`(ph, pw)` unpacks 2",
       also={"conv2d_backward": backward_with("")})
def conv2d_forward_saves_the_pad_widths(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    widths = ((0, 0), (0, 0), (ph, ph), (pw, pw))
    xpad = np.pad(x, widths)
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    ctx.cols, ctx.weight, ctx.padded_shape = cols, weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, widths, bool(bias)
    return out + bias[0].reshape(1, -1, 1, 1) if bias else out


def ct_backward_literal_strides(ctx, grad):
    ph, pw = ctx.padding
    n, c, h, w = ctx.xshape
    o, kh, kw = ctx.weight.shape[1:]
    grad_full = np.zeros(ctx.full)
    grad_full[:, :, ph:ph + grad.shape[2], pw:pw + grad.shape[3]] = grad
    grad_cols = i2c(grad_full, kh, kw, 1, 1)
    grad_x = (grad_cols @ ctx.weight.reshape(c, -1).T).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    grad_weight = (ctx.x2.T @ grad_cols).reshape(ctx.weight.shape)
    return (grad_x, grad_weight, grad.sum(axis=(0, 2, 3))) if ctx.has_bias else (grad_x, grad_weight)


CAUSES.append(Mistake("causes_ct_backward_literal_strides_without_names", "check_conv_transpose2d",
                      {"conv_transpose2d_forward": ct_forward,
                       "conv_transpose2d_backward": ct_backward_literal_strides},
                      ("passes the numbers sh=1, sw=1 while the stride here is (2, 2)",)))


@entry("check_conv2d", "conv2d_forward", "`ctx.cols = i2c(x, kh, kw, sh, sw)`",
       "`i2c(xpad, kh, kw, sh, sw)` from `xpad`")
def conv2d_forward_saves_the_columns_of_the_unpadded_input(ctx, x, weight, *bias, stride, padding):
    (sh, sw), (ph, pw) = stride, padding
    o, c, kh, kw = weight.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    cols = i2c(xpad, kh, kw, sh, sw)
    out = (cols @ weight.reshape(o, -1).T).reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
    ctx.cols = i2c(x, kh, kw, sh, sw)
    ctx.weight, ctx.padded_shape = weight, xpad.shape
    ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bool(bias)
    return out + bias[0].reshape(1, -1, 1, 1) if bias else out


@entry("check_relative_error", "relative_error", "count as no error", "a threshold on the denominator")
def re_small_denominators_skipped(a, b):
    a, b = _f64(a, b)
    diff, scale = np.abs(a - b), np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 1e-3)))


@entry("check_col2im", "col2im", "more than the 36 rows", "`ho` = (h - kh) // sw + 1 = 8 uses `sw`")
def col2im_rows_stepped_and_counted_with_sw(cols, shape, kh, kw, sh, sw):
    n, c, h, w = shape
    ho = (h - kh) // sw + 1
    wo = (w - kw) // sw + 1
    out = np.zeros(shape)
    r = 0
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                out[b, :, i * sw:i * sw + kh, j * sw:j * sw + kw] += cols[r].reshape(c, kh, kw)
                r += 1
    return out
