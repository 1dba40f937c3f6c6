"""Time this engine against PyTorch, in one run on the same machine, and print the ratios.

First the machine's roofline: its float32 matrix-product peak (FLOP/s, the faster of
NumPy's/CuPy's and PyTorch's product) and its memory bandwidth (a large copy), measured in
this run. Then, for each distinct layer of a U-Net
(32 filters, depth 4), forward + backward: its FLOPs, engine and PyTorch times, the ratio,
and the fraction of the roofline each side reaches (a layer can go no faster than its FLOPs
at the peak, nor than its smallest memory traffic at the bandwidth). Then one whole training
step (U-Net forward, BCE+Dice loss, backward, Adam), its fraction of the peak and its peak
memory, each side measured in a fresh process.

    python benchmarks/bench_unet.py                          # CPU: batch 8, 1x128x128
    python benchmarks/bench_unet.py --device cuda            # GPU: 16x3x256x256 and 8x1x128x128,
                                                             #      TF32 off and on for both sides
    python benchmarks/bench_unet.py --json results.json      # also write the numbers
    python benchmarks/bench_unet.py --batch 1 --size 32 --repeats 1 --steps 1   # a quick try
    python benchmarks/bench_unet.py --no-layers --cpu-time   # a busy CPU: the two sides' steps
                                                             # in turn in one process, CPU seconds

Both sides run on the same number of threads (--threads, default PyTorch's: one per core).
The first line names the kernel NumPy's BLAS runs: an OPENBLAS_CORETYPE set in the
environment (some machines force an older kernel that way) slows the engine's products, and
the line says so.

On the GPU every timing synchronises the device, follows warm-up runs and is a median; TF32
is switched the same way on both sides (CuPy: CUPY_TF32; PyTorch: allow_tf32). Peak memory
is the process's peak resident memory above its level after setup (CPU), or the allocator's
peak (GPU). Needs PyTorch (the dev extra). Ratios, not seconds, are the result.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import minitorch_unet as mt  # noqa: E402
from minitorch_unet import backend, functional as F, losses, optim  # noqa: E402
from minitorch_unet.unet import UNet  # noqa: E402

BASE, DEPTH = 32, 4


def synchronize(device: str) -> None:
    if device == "cuda":
        import torch
        backend.xp_for("cuda").cuda.Device().synchronize()
        torch.cuda.synchronize()


def median_time(fn, repeats: int, device: str, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def conv_flops(n: int, c: int, o: int, k: int, h: int, w: int) -> float:
    """Forward + both backward products of a conv with output (n, o, h, w): 3 x 2nockkhw."""
    return 3 * 2 * n * o * c * k * k * h * w


def matmul_peak(device: str, size: int, repeats: int) -> dict[str, float]:
    """FLOP/s of a large float32 matrix product, (size, size) @ (size, size), on `device`:
    with the engine's array library and with PyTorch's (their kernels differ)."""
    import torch
    xp = backend.xp_for(device)
    host = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    a, t = xp.asarray(host), torch.from_numpy(host).to(device)
    out, t_out = xp.empty_like(a), torch.empty_like(t)
    flops = 2 * size ** 3
    return {"engine": flops / median_time(lambda: xp.matmul(a, a, out=out), repeats, device),
            "torch": flops / median_time(lambda: torch.matmul(t, t, out=t_out), repeats, device)}


def memory_bandwidth(device: str, megabytes: int, repeats: int) -> float:
    """Bytes/s of a large copy (each byte read once and written once) on `device`."""
    xp = backend.xp_for(device)
    src = xp.ones(megabytes * 2 ** 20 // 4, dtype=np.float32)
    dst = xp.empty_like(src)
    return 2 * src.nbytes / median_time(lambda: xp.copyto(dst, src), repeats, device)


def roofline_seconds(flops: float, nbytes: float, peak: float, bandwidth: float) -> float:
    """The least time a layer can take: its FLOPs at the peak or its bytes at the bandwidth."""
    return max(flops / peak, nbytes / bandwidth)


def layer_cases(batch: int, channels: int, size: int, device: str):
    """(name, flops, bytes, engine fn, torch fn) for every distinct layer shape of the U-Net.

    bytes: the least memory traffic of forward + backward: the inputs read twice and their
    gradients written, the output written and its gradient read."""
    import torch
    rng = np.random.default_rng(0)
    cases = []

    def arr(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def add(name, flops, engine_op, torch_op, arrays):
        e_in = [mt.tensor(a, device=device, requires_grad=True) for a in arrays]
        t_in = [torch.from_numpy(a).to(device).requires_grad_() for a in arrays]

        def run_engine():
            for t in e_in:
                t.grad = None
            out = engine_op(*e_in)
            out.backward(mt.tensor(backend.xp_of(out.data).ones(out.shape, np.float32)))

        def run_torch():
            for t in t_in:
                t.grad = None
            out = torch_op(*t_in)
            out.backward(torch.ones_like(out))
        with torch.no_grad():
            out_size = torch_op(*t_in).numel()
        nbytes = 4 * (3 * sum(a.size for a in arrays) + 2 * out_size)
        cases.append((name, flops, nbytes, run_engine, run_torch))

    tf = torch.nn.functional
    widths = [BASE * 2 ** i for i in range(DEPTH + 1)]
    s, c_in = size, channels
    for level in range(DEPTH + 1):
        w = widths[level]
        for a, b in ((c_in, w), (w, w)):
            add(f"conv3x3 {a}->{b} @{s}", conv_flops(batch, a, b, 3, s, s),
                lambda x, k: F.conv2d(x, k, padding=1), lambda x, k: tf.conv2d(x, k, padding=1),
                [arr(batch, a, s, s), arr(b, a, 3, 3, scale=0.1)])
        if level == 0:
            add(f"batchnorm+relu {w} @{s}", 0,
                lambda x, g, bb: F.relu(F.batch_norm(x, None, None, g, bb, True)),
                lambda x, g, bb: torch.relu(tf.batch_norm(x, None, None, g, bb, True)),
                [arr(batch, w, s, s), arr(w), arr(w)])
        if level < DEPTH:
            add(f"maxpool2x2 {w} @{s}", 0, lambda x: F.max_pool2d(x, 2),
                lambda x: tf.max_pool2d(x, 2), [arr(batch, w, s, s)])
            c_in, s = w, s // 2
    for level in reversed(range(DEPTH)):
        w, s = widths[level], s * 2
        add(f"convT2x2 {2 * w}->{w} @{s // 2}", conv_flops(batch, 2 * w, w, 2, s // 2, s // 2),
            lambda x, k: F.conv_transpose2d(x, k, stride=2),
            lambda x, k: tf.conv_transpose2d(x, k, stride=2),
            [arr(batch, 2 * w, s // 2, s // 2), arr(2 * w, w, 2, 2, scale=0.1)])
        add(f"cat {w}+{w} @{s}", 0, lambda a, b: F.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1),
            [arr(batch, w, s, s), arr(batch, w, s, s)])
        add(f"conv3x3 {2 * w}->{w} @{s}", conv_flops(batch, 2 * w, w, 3, s, s),
            lambda x, k: F.conv2d(x, k, padding=1), lambda x, k: tf.conv2d(x, k, padding=1),
            [arr(batch, 2 * w, s, s), arr(w, 2 * w, 3, 3, scale=0.1)])
    add(f"head conv1x1 {BASE}->1 @{size}", conv_flops(batch, BASE, 1, 1, size, size),
        lambda x, k: F.conv2d(x, k), lambda x, k: tf.conv2d(x, k),
        [arr(batch, BASE, size, size), arr(1, BASE, 1, 1)])
    return cases


def step_flops(batch: int, channels: int, size: int) -> float:
    """Convolution FLOPs of one training step of the U-Net (forward and backward)."""
    widths = [BASE * 2 ** i for i in range(DEPTH + 1)]
    total, s, c_in = 0.0, size, channels
    for level in range(DEPTH + 1):
        w = widths[level]
        total += conv_flops(batch, c_in, w, 3, s, s) + conv_flops(batch, w, w, 3, s, s)
        c_in, s = w, s // 2
    s *= 2
    for level in reversed(range(DEPTH)):
        w, s = widths[level], s * 2
        total += conv_flops(batch, 2 * w, w, 2, s // 2, s // 2)
        total += conv_flops(batch, 2 * w, w, 3, s, s) + conv_flops(batch, w, w, 3, s, s)
    return total + conv_flops(batch, BASE, 1, 1, size, size)


def make_step(side: str, batch: int, channels: int, size: int, device: str):
    """A closure running one training step; both sides start from the engine's initial weights."""
    mt.manual_seed(0)
    engine = UNet(in_channels=channels, base_filters=BASE, depth=DEPTH)
    rng = np.random.default_rng(0)
    x = rng.random((batch, channels, size, size), dtype=np.float32)
    t = (rng.random((batch, 1, size, size)) > 0.9).astype(np.float32)
    if side == "engine":
        engine.to(device)
        opt = optim.Adam(engine.parameters(), lr=1e-4)
        xe, te = mt.tensor(x, device=device), mt.tensor(t, device=device)

        def step():
            opt.zero_grad()
            loss = losses.bce_dice_loss(engine(xe), te)
            loss.backward()
            opt.step()
        return step
    import torch
    from torch_unet import TorchUNet, soft_dice_loss
    model = TorchUNet(in_channels=channels, base_filters=BASE, depth=DEPTH)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in engine.state_dict().items()})
    model.to(device)
    topt = torch.optim.Adam(model.parameters(), lr=1e-4)
    xt, tt = torch.from_numpy(x).to(device), torch.from_numpy(t).to(device)

    def tstep():
        topt.zero_grad()
        logits = model(xt)
        loss = 0.5 * torch.nn.functional.binary_cross_entropy_with_logits(logits, tt) \
            + 0.5 * soft_dice_loss(logits, tt)
        loss.backward()
        topt.step()
    return tstep


def set_tf32(enabled: bool) -> None:
    """The same matmul precision on both sides (call before CuPy or PyTorch run on the GPU)."""
    os.environ["CUPY_TF32"] = "1" if enabled else "0"
    import torch
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


def use_threads(count: int) -> None:
    """Both sides on `count` threads: the engine's BLAS (its elementwise passes keep the
    package's setting, see parallel.py) and PyTorch's intra-op pool. Without this the engine
    chooses its own count from the load average (see threads.py), which a benchmark that
    keeps one core busy would halve."""
    from minitorch_unet import threads
    threads.limit_blas_threads(count)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(count)


def blas_kernel() -> str:
    """NumPy's BLAS library and the kernel it runs, and any OPENBLAS_CORETYPE forcing it."""
    from threadpoolctl import threadpool_info
    info = next((i for i in threadpool_info() if i.get("user_api") == "blas"), {})
    forced = os.environ.get("OPENBLAS_CORETYPE")
    return (f"{info.get('internal_api', '?')} {info.get('version', '?')}, kernel "
            f"{info.get('architecture', '?')}" + (f" (forced by OPENBLAS_CORETYPE={forced})"
                                                  if forced else ""))


def worker(side: str, batch: int, channels: int, size: int, device: str, steps: int,
           threads: int) -> dict:
    """In a fresh process: median step time and peak memory above the post-setup level."""
    if side == "torch":
        import torch  # noqa: F401  (so that use_threads sets its pool too)
    use_threads(threads)
    step = make_step(side, batch, channels, size, device)
    if device == "cuda":
        import torch
        step()
        synchronize(device)
        pool = backend.xp_for("cuda").get_default_memory_pool()
        torch.cuda.reset_peak_memory_stats()
        seconds = median_time(step, steps, device, warmup=1)
        peak = pool.total_bytes() if side == "engine" else torch.cuda.max_memory_allocated()
        return {"seconds": seconds, "peak_mb": peak / 2 ** 20}
    before = current_rss_kb()
    reset_peak_rss()
    seconds = median_time(step, steps, device, warmup=1)
    return {"seconds": seconds, "peak_mb": (peak_rss_kb() - before) / 1024}


def current_rss_kb() -> int:
    """Resident memory now (Linux), in kB; elsewhere the peak so far."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak_rss() -> None:
    """Start the peak resident memory afresh (Linux). Needed: a process started by another
    inherits its parent's peak (ru_maxrss survives fork and exec), and this benchmark's parent
    holds PyTorch and the roofline's arrays, more than a step of either side."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_kb() -> int:
    """Peak resident memory since reset_peak_rss (Linux), in kB; elsewhere since the start."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_step(side: str, batch: int, channels: int, size: int, device: str, steps: int,
                 tf32: bool, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, __file__, "--worker", side, "--batch", str(batch), "--channels",
           str(channels), "--size", str(size), "--device", device, "--steps", str(steps),
           "--threads", str(threads)]
    out = subprocess.run(cmd + (["--tf32"] if tf32 else []), capture_output=True, text=True,
                         env=env)
    if out.returncode:
        raise RuntimeError(f"{side} step worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_roofline(device: str, matmul_size: int, copy_mb: int, repeats: int) -> dict:
    """This machine's float32 matrix-product peak (the faster of the engine's library and
    PyTorch's) and memory bandwidth, measured now."""
    peaks = matmul_peak(device, matmul_size, repeats)
    peak = max(peaks.values())
    bandwidth = memory_bandwidth(device, copy_mb, repeats)
    print(f"roofline: float32 matmul peak {peak / 1e9:.1f} GFLOP/s ({matmul_size}x{matmul_size} "
          f"product; engine's library {peaks['engine'] / 1e9:.1f}, PyTorch {peaks['torch'] / 1e9:.1f}), "
          f"memory bandwidth {bandwidth / 1e9:.1f} GB/s ({copy_mb} MB copy); a layer below "
          f"{peak / bandwidth:.1f} FLOP/byte is bound by memory")
    return {"peak_flops": peak, "engine_matmul_flops": peaks["engine"],
            "torch_matmul_flops": peaks["torch"], "bandwidth_bytes": bandwidth,
            "matmul_size": matmul_size, "copy_mb": copy_mb}


def measure_steps_cpu_time(batch: int, channels: int, size: int, steps: int) -> dict[str, float]:
    """Median CPU seconds of a step, per side. Both sides in this process, one step of each
    in turn, timed in CPU seconds on one thread: on a machine that other jobs keep busy, the
    share of the cores each side gets changes from second to second, but the CPU time its
    work takes changes far less. (Wall-clock time in turn would not be fair: PyTorch's
    OpenMP threads keep spinning for a while after its step, on the cores the engine uses.)"""
    use_threads(1)
    run = {side: make_step(side, batch, channels, size, "cpu") for side in ("engine", "torch")}
    times: dict[str, list[float]] = {side: [] for side in run}
    for step in run.values():
        step()
    for _ in range(steps):
        for side, step in run.items():
            start = time.process_time()
            step()
            times[side].append(time.process_time() - start)
    return {side: float(np.median(t)) for side, t in times.items()}


def run_config(batch: int, channels: int, size: int, device: str, tf32: bool, repeats: int,
               steps: int, layers: bool, roofline: dict, cpu_time: bool = False) -> dict:
    label = f"{device}, batch {batch}, {channels}x{size}x{size}" + \
        (f", TF32 {'on' if tf32 else 'off'}" if device == "cuda" else "")
    print(f"\n== {label}; U-Net base {BASE}, depth {DEPTH}; median of {repeats}")
    peak, bandwidth = roofline["peak_flops"], roofline["bandwidth_bytes"]
    rows = []
    if layers:
        print("roof: share of the layer's roofline time (its FLOPs at the peak or its least "
              "memory traffic at the bandwidth, whichever is longer) that each side reaches")
        print(f"{'layer (forward+backward)':<30}{'GFLOP':>8}{'engine ms':>10}{'torch ms':>10}"
              f"{'ratio':>7}{'engine %peak':>13}{'torch %peak':>12}{'engine %roof':>13}"
              f"{'torch %roof':>12}")
        for name, flops, nbytes, run_engine, run_torch in layer_cases(batch, channels, size,
                                                                      device):
            te = median_time(run_engine, repeats, device)
            tt = median_time(run_torch, repeats, device)
            bound = roofline_seconds(flops, nbytes, peak, bandwidth)
            rows.append({"layer": name, "gflop": flops / 1e9, "bytes": nbytes,
                         "engine_ms": te * 1e3, "torch_ms": tt * 1e3, "ratio": te / tt,
                         "engine_peak_fraction": flops / te / peak,
                         "torch_peak_fraction": flops / tt / peak,
                         "engine_roofline_fraction": bound / te,
                         "torch_roofline_fraction": bound / tt})
            print(f"{name:<30}{flops / 1e9:>8.2f}{te * 1e3:>10.2f}{tt * 1e3:>10.2f}{te / tt:>7.2f}"
                  f"{100 * flops / te / peak:>12.0f}%{100 * flops / tt / peak:>11.0f}%"
                  f"{100 * bound / te:>12.0f}%{100 * bound / tt:>11.0f}%")
    flops = step_flops(batch, channels, size)
    if cpu_time:
        sides = measure_steps_cpu_time(batch, channels, size, steps)
        engine, torch_ = sides["engine"], sides["torch"]
        step = {"engine_cpu_s": engine, "torch_cpu_s": torch_, "ratio": engine / torch_,
                "gflop": flops / 1e9, "engine_gflops_one_thread": flops / engine / 1e9,
                "torch_gflops_one_thread": flops / torch_ / 1e9}
        print(f"whole training step (Adam), {steps} steps of each side in turn, median CPU "
              f"seconds on one thread: engine {engine:.2f} s ({flops / engine / 1e9:.0f} GFLOP/s), "
              f"PyTorch {torch_:.2f} s ({flops / torch_ / 1e9:.0f} GFLOP/s), ratio "
              f"{step['ratio']:.2f}")
        return {"config": label, "batch": batch, "channels": channels, "size": size,
                "device": device, "roofline": roofline, "layers": rows, "step": step}
    threads = sys.modules["torch"].get_num_threads()
    engine = measure_step("engine", batch, channels, size, device, steps, tf32, threads)
    torch_ = measure_step("torch", batch, channels, size, device, steps, tf32, threads)
    step = {"engine_s": engine["seconds"], "torch_s": torch_["seconds"],
            "ratio": engine["seconds"] / torch_["seconds"], "gflop": flops / 1e9,
            "engine_peak_fraction": flops / engine["seconds"] / peak,
            "torch_peak_fraction": flops / torch_["seconds"] / peak,
            "engine_peak_mb": engine["peak_mb"], "torch_peak_mb": torch_["peak_mb"],
            "memory_ratio": engine["peak_mb"] / max(torch_["peak_mb"], 1e-9)}
    print(f"{'whole training step (Adam)':<30}{flops / 1e9:>8.1f}{engine['seconds'] * 1e3:>10.1f}"
          f"{torch_['seconds'] * 1e3:>10.1f}{step['ratio']:>7.2f}"
          f"{100 * step['engine_peak_fraction']:>12.0f}%{100 * step['torch_peak_fraction']:>11.0f}%")
    print(f"{'peak memory of a step (MB)':<30}{'':>8}{engine['peak_mb']:>10.0f}"
          f"{torch_['peak_mb']:>10.0f}{step['memory_ratio']:>7.2f}")
    return {"config": label, "batch": batch, "channels": channels, "size": size,
            "device": device, "tf32": tf32, "roofline": roofline, "layers": rows, "step": step}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--batch", type=int, help="one configuration instead of the defaults")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--tf32", action="store_true", help="GPU: allow TF32 on both sides")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4, help="timed training steps per side")
    parser.add_argument("--no-layers", action="store_true", help="time only the whole step")
    parser.add_argument("--cpu-time", action="store_true",
                        help="CPU: time the whole step of both sides in this process, in turn, as "
                             "CPU seconds on one thread (steadier on a busy machine)")
    parser.add_argument("--peak-size", type=int, help="side of the matrices whose product measures "
                        "the peak (default: 2048 on the CPU, 8192 on the GPU)")
    parser.add_argument("--copy-mb", type=int, default=512,
                        help="size of the copy that measures the memory bandwidth (MB)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--threads", type=int, help="CPU threads for both sides (default: "
                        "PyTorch's default, one per core)")
    parser.add_argument("--worker", choices=["engine", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device == "cuda":
        set_tf32(args.tf32)  # before CuPy is imported: it reads CUPY_TF32 then
        try:
            backend.check_device("cuda")
        except backend.DeviceError as err:
            sys.exit(f"error: {err}")
    if args.worker:
        print(json.dumps(worker(args.worker, args.batch, args.channels, args.size, args.device,
                                args.steps, args.threads)))
        return
    import torch
    if args.device == "cuda" and args.batch is None:
        # The four configurations, each in its own process so TF32 is set before import.
        results = []
        for tf32 in (False, True):
            for batch, channels, size in ((16, 3, 256), (8, 1, 128)):
                out = HERE / f".bench-{os.getpid()}.json"
                cmd = [sys.executable, __file__, "--device", "cuda", "--batch", str(batch),
                       "--channels", str(channels), "--size", str(size), "--repeats",
                       str(args.repeats), "--steps", str(args.steps), "--json", str(out)]
                cmd += (["--tf32"] if tf32 else []) + (["--no-layers"] if args.no_layers else [])
                cmd += ["--copy-mb", str(args.copy_mb)]
                cmd += ["--peak-size", str(args.peak_size)] if args.peak_size else []
                subprocess.run(cmd, check=True)
                results += json.loads(out.read_text())
                out.unlink()
    else:
        if args.device == "cpu":
            use_threads(1 if args.cpu_time else args.threads or torch.get_num_threads())
            threads = torch.get_num_threads()
            print(f"CPU: {os.cpu_count()} cores, both sides on {threads} "
                  f"thread{'s' * (threads > 1)}; "
                  f"PyTorch {torch.__version__}; NumPy's BLAS: {blas_kernel()}")
        else:
            print(f"GPU: {torch.cuda.get_device_name()}, PyTorch {torch.__version__}, "
                  f"CuPy {backend.xp_for('cuda').__version__}")
        peak_size = args.peak_size or (2048 if args.device == "cpu" else 8192)
        roofline = measure_roofline(args.device, peak_size, args.copy_mb, args.repeats)
        results = [run_config(args.batch or 8, args.channels, args.size, args.device, args.tf32,
                              args.repeats, args.steps, not args.no_layers, roofline,
                              args.cpu_time and args.device == "cpu")]
    if args.device == "cpu":
        for result in results:
            result.update(threads=torch.get_num_threads(), blas=blas_kernel())
    if args.json:
        from minitorch_unet.checkpoint import atomic_write_text
        atomic_write_text(args.json, json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
