"""Wrong answers for lessons 03-05 whose loops are wrong in structure, not in their bounds: a
loop variable reused by a nested loop, an index taken from the loop of another axis, and
the values such slips leave. Entries follow tests/test_checks_catalogue.py."""
import numpy as np
from test_checks_catalogue import Mistake

LOOPS: list[Mistake] = []
RIGHT: list[tuple[str, str, dict]] = []


def entry(grade, function, *words):
    def add(fn):
        LOOPS.append(Mistake(f"loops_{fn.__name__}", grade, {function: fn}, words))
        return fn
    return add


def right(grade, function):
    def add(fn):
        RIGHT.append((f"loops_{fn.__name__}", grade, {function: fn}))
        return fn
    return add


# ---- a loop variable reused, or taken from the loop of another axis ---------------------------
@entry("check_im2col", "im2col", "two nested loops", "own name")
def im2col_sample_variable_reused_for_rows(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    rows = []
    for b in range(n):
        for b in range(ho):  # noqa: B007 - the slip
            for j in range(wo):
                rows.append(x[b, :, b * sh:b * sh + kh, j * sw:j * sw + kw].ravel())
    return np.array(rows)


@entry("check_conv2d_naive", "conv2d_naive", "index that axis with b, not ch")
def naive_sample_indexed_by_the_channel_loop(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for b in range(n):
        for ch in range(o):
            for i in range(ho):
                for j in range(wo):
                    patch = xp[ch, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[b, ch, i, j] = np.sum(patch * weight[ch]) + (0 if bias is None else bias[ch])
    return out


@right("check_im2col", "im2col")
def im2col_two_sequential_loops_over_one_name(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    starts = []
    for i in range(ho):
        starts.append(i * sh)
    rows = []
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                rows.append(x[b, :, starts[i]:starts[i] + kh, j * sw:j * sw + kw].ravel())
    return np.array(rows)
