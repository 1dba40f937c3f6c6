"""Writes 10_gpu.ipynb, the solution notebook of lesson 10 (the GPU, with CuPy)."""
from __future__ import annotations

from nbformat import NotebookNode

from minitorch_unet.course import code, exercise, graded, markdown


def demo(source: str) -> NotebookNode:
    """A cell that only shows things (a picture, a timing)."""
    return code(source, tags=["demo"])


def cells() -> list[NotebookNode]:
    """The notebook's cells, in order."""
    return [
        markdown(r"""
# 10 · On the GPU with CuPy

Lesson 09 trained a small U-Net on 64×64 slices. The network the course aims at works on
the full 256×256 slices with 32 base filters and depth 4: over 300 times the arithmetic
per slice, on a data set of 110 patients. That is a job for a GPU. The engine runs on one
through **CuPy**, a NumPy twin whose arrays live in the GPU's memory and whose functions
run there. This lesson:

1. moves arrays and models between the devices;
2. shows the **xp pattern** that lets one piece of code run on either;
3. works out what a GPU speeds up and why: arithmetic intensity (exercise) and kernel launches;
4. times training steps, and runs the full-size training where a GPU is present.

**This notebook runs without a GPU.** It then says so, shows what it measured on the CPU,
and skips the GPU runs; those numbers are pending until it is run on a machine with one
(`pip install 'minitorch-unet[gpu]'`).
"""),
        code("""
import inspect
import time

import matplotlib.pyplot as plt
import numpy as np

import minitorch_unet as mt
from minitorch_unet import Tensor, backend, losses, optim
from minitorch_unet.checks import check
from minitorch_unet.train import TrainConfig, train
from minitorch_unet.unet import UNet

FULL_RUN = False          # True (with a GPU): train the full-size network at the end
try:
    backend.check_device("cuda")
    DEVICE = "cuda"
    print("GPU found: this notebook runs on it")
except mt.DeviceError as err:
    DEVICE = "cpu"
    print(f"No GPU here, so the GPU parts are skipped. ({err})")
mt.manual_seed(0)
"""),
        markdown(r"""
## 1 · Moving arrays between devices

A GPU has its own memory. `cupy.asarray(a)` copies a NumPy array into it and `a.get()`
copies back; the engine wraps both: `Tensor(data, device="cuda")`, `tensor.to("cuda")`,
`tensor.numpy()` (always a host copy), and `model.to("cuda")` moves every parameter and
buffer. An op refuses tensors on different devices rather than copying silently, because
the copy is the slow part: host and GPU talk over a bus that is far slower than the
GPU's own memory. The training loop therefore keeps everything on the GPU and reads the
loss back only every few steps (`LOG_EVERY` in `minitorch_unet.train`).
"""),
        code("""
x = mt.randn(2, 3)
y = x.to(DEVICE)
print(f"x on {x.device}, y on {y.device}; y.numpy() is a host {type(y.numpy()).__name__}")
other = "cpu" if DEVICE == "cuda" else "cuda"
try:
    y + mt.ones(2, 3, device=other)
except mt.DeviceError as err:
    print("DeviceError:", err)
"""),
        markdown(r"""
## 2 · The xp pattern

CuPy copies NumPy's interface, so math written against "whichever module holds this
array" runs on both devices. `backend.xp_of(array)` returns `numpy` or `cupy`; every
kernel of the engine starts with it. The stable BCE of lesson 08, as the engine writes it:
"""),
        code("""
print(inspect.getsource(losses.BCEWithLogits.forward))
"""),
        markdown(r"""
The same pattern, in a function of your own: written once, run on each device available.
"""),
        code('''
def sigmoid(x):
    """x: a NumPy or CuPy array -> sigmoid(x) on the same device (stable: tanh never overflows)."""
    xp = backend.xp_of(x)
    return 0.5 * (1 + xp.tanh(0.5 * x))


for device in ["cpu"] + (["cuda"] if DEVICE == "cuda" else []):
    a = backend.asarray(np.array([-80.0, 0.0, 80.0], np.float32), device)
    print(device, type(sigmoid(a)).__module__.split(".")[0], backend.to_numpy(sigmoid(a)))
'''),
        markdown(r"""
## 3 · What gets faster, and why

A device has two speeds: how fast it computes (peak FLOP/s, floating-point operations per
second) and how fast it moves data between its memory and its cores (bytes/s). An op
takes at least

$$t \ \ge\ \max\left(\frac{\text{FLOPs}}{\text{peak FLOP/s}},\ \frac{\text{bytes}}{\text{bandwidth}}\right).$$

Which term wins depends on the op's **arithmetic intensity** $I = \text{FLOPs} / \text{bytes}$,
against the device's ridge point $\text{peak} / \text{bandwidth}$: below it, the op waits on
memory; above it, on arithmetic. An elementwise op (ReLU, adding a bias, batch norm)
does about 1 FLOP per 4-byte value read and written, $I \approx 1/8$: memory-bound on every
device, and a GPU only helps by its higher bandwidth. A convolution reuses every input
value $C_{out} k^2$ times: high intensity, compute-bound, the work a GPU's thousands of
cores are built for. GPUs raise peak FLOP/s far more than bandwidth, so their ridge
points lie higher, and only high-intensity ops get the full speed-up.

For a stride-1 'same' convolution without bias on a batch $(N, C_{in}, H, W)$ with a
$(C_{out}, C_{in}, k, k)$ kernel: each of the $N C_{out} H W$ outputs takes $C_{in} k^2$
multiply-adds, 2 FLOPs each; at the least it reads the input and the weights once and
writes the output once, at `itemsize` bytes per value (4 for float32).

### Exercise: `conv2d_cost`
"""),
        exercise("conv2d_cost", '''
def conv2d_cost(n: int, c_in: int, c_out: int, h: int, w: int, k: int,
                itemsize: int = 4) -> tuple[int, int]:
    """A stride-1 'same' k x k convolution, no bias, on (n, c_in, h, w) -> (FLOPs, bytes moved)."""
    ### BEGIN SOLUTION
    flops = 2 * n * c_out * h * w * c_in * k * k
    values = n * c_in * h * w + c_out * c_in * k * k + n * c_out * h * w
    return flops, itemsize * values
    ### END SOLUTION
'''),
        graded("check_conv2d_cost", "conv2d_cost"),
        markdown(r"""
Every 3×3 convolution of the full-size U-Net (batch 16, 256×256, 32 base filters, depth 4),
against this machine's own ridge point, measured now: a large matrix product for the
FLOP/s, a large array copy for the bytes/s.
"""),
        code('''
def unet_convolutions(size: int, base: int, depth: int, batch: int) -> list[tuple]:
    """(name, n, c_in, c_out, h, w, k) of each 3x3 convolution and transposed convolution;
    a transposed 2x2 convolution is listed as a 2x2 one on its input grid (same multiply-adds)."""
    widths = [base * 2 ** i for i in range(depth + 1)]
    layers = []
    for i in range(depth + 1):
        name, s = ("bottleneck" if i == depth else f"enc{i + 1}"), size >> i
        c_in = 1 if i == 0 else widths[i - 1]
        layers += [(f"{name}.0", batch, c_in, widths[i], s, s, 3),
                   (f"{name}.1", batch, widths[i], widths[i], s, s, 3)]
    for i in reversed(range(depth)):
        s = size >> i
        layers += [(f"up{i + 1}", batch, widths[i + 1], widths[i], s // 2, s // 2, 2),
                   (f"dec{i + 1}.0", batch, 2 * widths[i], widths[i], s, s, 3),
                   (f"dec{i + 1}.1", batch, widths[i], widths[i], s, s, 3)]
    return layers
'''),
        demo("""
def fastest(fn, repeat: int = 5) -> float:
    # the shortest of `repeat` timed calls, in seconds, after one untimed call
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)

a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
src, dst = np.ones(2 ** 24, np.float32), np.empty(2 ** 24, np.float32)
peak = 2 * 1024 ** 3 / fastest(lambda: a @ a)
bandwidth = 2 * src.nbytes / fastest(lambda: np.copyto(dst, src))

print(f"this CPU: {peak / 1e9:.0f} GFLOP/s (float32 matrix product), {bandwidth / 1e9:.1f} GB/s "
      f"(copy): ridge point {peak / bandwidth:.0f} FLOP/byte")
layers = [layer for layer in unet_convolutions(256, 32, 4, 16) if layer[-1] == 3]
intensity = [conv2d_cost(*layer[1:])[0] / conv2d_cost(*layer[1:])[1] for layer in layers]
fig, ax = plt.subplots(figsize=(9, 3.4))
ax.bar([layer[0] for layer in layers], intensity, color="tab:blue", label="3x3 convolutions")
ax.bar(["ReLU"], [1 / 8], color="tab:gray", label="an elementwise op")
ax.axhline(peak / bandwidth, color="tab:red", ls="--", label="this CPU's ridge point (measured)")
ax.set_yscale("log")
ax.set(ylabel="FLOP / byte", title="Arithmetic intensity, full-size U-Net (batch 16, 256x256)")
ax.tick_params(axis="x", labelsize=7, rotation=60)
ax.legend(fontsize=8)
plt.show()
"""),
        markdown(r"""
Every convolution but the first (one input channel) sits far above this CPU's ridge
point, most at hundreds of FLOP per byte, above a GPU's as well (its datasheet's peak
FLOP/s over its memory bandwidth, typically a few tens): the U-Net's convolutions are
compute-bound, and a GPU's far higher peak FLOP/s applies to them. The elementwise ops
(ReLU, batch norm, the loss) are memory-bound; they are cheap in FLOPs but they are many,
which brings up the second cost.

## 4 · Kernel launches

Every op on a GPU is a **kernel** launched from the CPU, with a fixed cost per launch on
top of Python's own per-call cost. Small arrays cannot amortise it, so below some size the
CPU wins. Time one elementwise addition across sizes (on the GPU too, when there is one):
"""),
        demo('''
def time_add(device: str, size: int, repeat: int = 20) -> float:
    """Median seconds of one out-of-place addition of two float32 arrays of `size` values."""
    xp = backend.xp_for(device)
    a, b = xp.ones(size, xp.float32), xp.ones(size, xp.float32)
    sync = xp.cuda.Device().synchronize if device == "cuda" else (lambda: None)
    times = []
    for _ in range(repeat):
        sync()
        started = time.perf_counter()
        a + b
        sync()
        times.append(time.perf_counter() - started)
    return float(np.median(times))

sizes = 4 ** np.arange(1, 13)
fig, ax = plt.subplots(figsize=(6.5, 3.4))
for device in ["cpu"] + (["cuda"] if DEVICE == "cuda" else []):
    seconds = [time_add(device, int(n)) for n in sizes]
    ax.loglog(sizes, np.array(seconds) * 1e6, marker=".", label=device)
    print(f"{device}: {seconds[0] * 1e6:.1f} µs for {sizes[0]} values, "
          f"{3 * 4 * sizes[-1] / seconds[-1] / 1e9:.1f} GB/s at {sizes[-1]:,} values")
if DEVICE == "cpu":
    print("GPU curve: pending (no GPU on this machine)")
ax.set(xlabel="values per array", ylabel="µs per addition", title="One elementwise addition")
ax.legend()
plt.show()
'''),
        markdown(r"""
The flat left part is the fixed cost per call, the sloped right part the memory
bandwidth. A training step of the U-Net issues hundreds of such calls (every
convolution, batch norm, ReLU, concatenation, their backward passes, and Adam's update of
each parameter), so at small sizes the fixed costs add up; at 256×256 with a batch of 16
the arrays are millions of values and the GPU's bandwidth and FLOP/s take over.

## 5 · Training steps, and the full-size run

One training step (forward, BCE + Dice loss, backward, Adam), timed at three sizes on this
machine (the fastest of three steps). The FLOPs are the convolutions' forward FLOPs from
`conv2d_cost`, times 3 for forward + backward (a convolution's backward costs about twice
its forward).
"""),
        demo("""
def step_seconds(size: int, base: int, depth: int, batch: int, device: str) -> float:
    mt.manual_seed(0)
    model = UNet(base_filters=base, depth=depth).to(device)
    optimizer = optim.Adam(model.parameters())
    rng = np.random.default_rng(0)
    x = Tensor(backend.asarray(rng.random((batch, 1, size, size), np.float32), device))
    y = Tensor(backend.asarray((rng.random((batch, 1, size, size)) < 0.05).astype(np.float32), device))
    times = []
    for _ in range(4):                       # the first step also allocates: it is not counted
        started = time.perf_counter()
        optimizer.zero_grad()
        losses.bce_dice_loss(model(x), y).backward()
        optimizer.step()
        float(model.head.bias.data[0])       # wait for the device to finish
        times.append(time.perf_counter() - started)
    return min(times[1:])                    # the fastest: least disturbed by other programs

print(f"{'setting':<36}{'GFLOP/step':>11}{'CPU s/step':>12}{'CPU GFLOP/s':>13}{'GPU s/step':>12}")
for size, base, depth, batch in [(64, 8, 3, 4), (128, 16, 4, 4), (256, 32, 4, 1)]:
    gflop = 3 * sum(conv2d_cost(*layer[1:])[0] for layer in
                    unet_convolutions(size, base, depth, batch)) / 1e9
    cpu = step_seconds(size, base, depth, batch, "cpu")
    gpu = f"{step_seconds(size, base, depth, batch, 'cuda'):.3f}" if DEVICE == "cuda" else "pending"
    print(f"{size}x{size}, {base} filters, depth {depth}, batch {batch}:".ljust(36)
          + f"{gflop:>11.1f}{cpu:>12.3f}{gflop / cpu:>13.0f}{gpu:>12}")
steps = round(0.7 * 3929 / 16)      # the full LGG set: 3929 slices, about 70% for training
print(f"\\nfull size, batch 16, estimated from batch 1 on this CPU: about {16 * cpu:.0f} s per "
      f"step; {steps} steps per epoch on the full LGG set: {16 * cpu * steps / 3600:.1f} h per epoch")
"""),
        markdown(r"""
The CPU time grows with the FLOPs, as it should for compute-bound work, and larger arrays
get more FLOP/s out of the CPU: small ones pay the fixed per-call costs of section 4.
The full-size configuration is below: the whole LGG set (110 patients, 3929 slices;
download the public archive and pass its path as `data`) at 256×256, 32 base filters,
depth 4, batches of 16: at the CPU rate above, many hours for its 50 epochs. With `FULL_RUN = True` on a machine with a
GPU, the cell below trains it, with checkpoints in `runs/full` (resume with
`train(..., resume=True)`, or from the command line:
`python -m minitorch_unet train --device cuda --out runs/full ...`). GPU timings for this
course: pending.
"""),
        code("""
full = TrainConfig(data=None, image_size=256, base_filters=32, depth=4, batch_size=16,
                   epochs=50, device="cuda")
if FULL_RUN and DEVICE == "cuda":
    history = train(full, "runs/full")
    print(f"best validation Dice {history['best']['val_dice']:.3f} at epoch {history['best']['epoch']}")
else:
    print("Full-size run skipped:", "set FULL_RUN = True to start it" if DEVICE == "cuda"
          else "no GPU on this machine (its timings are pending)")
    print({k: v for k, v in full.to_dict().items() if k in ("image_size", "base_filters", "depth",
                                                             "batch_size", "epochs", "device")})
"""),
        markdown(r"""
**Summary.** CuPy is NumPy on the GPU; the engine picks the module with
`backend.xp_of(array)` and keeps tensors where they are, refusing to mix devices. A GPU
pays off on compute-bound work with high arithmetic intensity (the convolutions:
hundreds of FLOPs per byte) and on large arrays; small ops are dominated by fixed
per-call costs, and every copy between host and GPU is slow. Next: how good is the trained
network, and where does it fail?
"""),
    ]
