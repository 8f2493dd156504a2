"""Throughput of the duality sampler (bbdlib.duality.jumps.JumpMap.qdot and .stream), one core.

Budget (issue 3): the sampler maps at least 1e7 samples per second on one core.
In the same run it is compared against (i) a plain per-sample Python loop computing the
same jumps with the math module, and (ii) one numpy.exp over the same array (the cost
floor of any vectorised map that evaluates one transcendental function per sample).
Prints throughputs and both ratios; exits non-zero if the budget is missed.

Budget (issue 9): streaming n inputs of Fig. 5's composition (JumpMap.stream) runs at least
0.5x the throughput of drawing the same number of normals with ``Generator.normal`` in the same
chunks (the physical limit of the design: every input is one normal), and its peak memory
(tracemalloc) does not grow with n.
"""
import math
import os
import sys
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

from bbdlib.duality.jumps import STREAM_CHUNK, JumpMap  # noqa: E402
from bbdlib.duality.toy_model import TWO_CLASSES, Composition, rotation_angle  # noqa: E402

N = 1_000_000
N_LOOP = 100_000  # the Python loop is timed on fewer samples and scaled per sample
BUDGET = 1e7
N_STREAM = 20_000_000


def best_of(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def python_loop(x, w, b, gamma, theta):
    """Sigmoid + MSE, class '+': q̇′ = −γ (x cosθ + sinθ) · (−2 σ (1 − σ)²), per sample."""
    c, s = math.cos(theta), math.sin(theta)
    out = [0.0] * len(x)
    for i, xi in enumerate(x):
        y = w * xi + b
        sig = 1.0 / (1.0 + math.exp(-y))
        sm = 1.0 / (1.0 + math.exp(y))
        out[i] = -gamma * (xi * c + s) * (-2.0 * sig * sm * sm)
    return out


def normals(n, rng):
    done = 0
    while done < n:
        m = min(STREAM_CHUNK, n - done)
        rng.normal(0.0, 0.25, size=m)
        done += m


def peak(fn) -> int:
    tracemalloc.start()
    fn()
    p = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return p


def stream_budget() -> bool:
    jm = JumpMap(Composition("piecewise_linear", "cross_entropy"), 3.559, -1.275, "-", 0.1, np.pi / 2)
    keep = (1.4, 1e12)
    t_ref = best_of(lambda: normals(N_STREAM, np.random.default_rng(0)), repeat=3)
    t_str = best_of(lambda: jm.stream(N_STREAM, rng=np.random.default_rng(0), keep=keep), repeat=3)
    ratio = t_ref / t_str
    print(f"Generator.normal in chunks : {N_STREAM / t_ref / 1e6:7.1f} M/s")
    print(f"JumpMap.stream (Fig. 5 '-'): {N_STREAM / t_str / 1e6:7.1f} M/s  ratio {ratio:.2f} (budget >= 0.5)")
    p1 = peak(lambda: jm.stream(2_000_000, rng=1, keep=keep))
    p2 = peak(lambda: jm.stream(20_000_000, rng=1, keep=keep))
    print(f"peak memory: n = 2e6 {p1 / 2**20:.1f} MiB, n = 2e7 {p2 / 2**20:.1f} MiB (budget: ratio < 1.5)")
    ok = ratio >= 0.5 and p2 < 1.5 * p1
    print("budget:", "met" if ok else "MISSED")
    return ok




def main() -> int:
    rng = np.random.default_rng(0)
    x = rng.normal(TWO_CLASSES.mean("+"), TWO_CLASSES.std("+"), N)
    w, b, gamma = 16.0, -8.0, 1.0
    theta = rotation_angle("class_mean", "+")
    jump_map = JumpMap(Composition("sigmoid", "mse"), w, b, "+", gamma, theta)
    # correctness of the reference
    ref = np.array(python_loop(x[:1000].tolist(), w, b, gamma, theta))
    assert np.allclose(ref, jump_map.qdot(x[:1000]), rtol=1e-12, atol=0)

    t_map = best_of(lambda: jump_map.qdot(x))
    xl = x[:N_LOOP].tolist()
    t_loop = best_of(lambda: python_loop(xl, w, b, gamma, theta), repeat=3) * (N / N_LOOP)
    t_exp = best_of(lambda: np.exp(x))
    rate = N / t_map
    print(f"sampler (sigmoid + MSE, class '+'): {rate / 1e6:8.1f} M samples/s")
    print(f"plain Python loop                 : {N / t_loop / 1e6:8.2f} M samples/s")
    print(f"one numpy.exp over the same array : {N / t_exp / 1e6:8.1f} M samples/s")
    print(f"ratio sampler / Python loop       : {t_loop / t_map:8.1f}x faster")
    print(f"ratio sampler / numpy.exp         : {t_map / t_exp:8.1f}x the time of one exp")
    # every composition of Figures 1-5
    worst = rate
    for comp_i in (Composition("sigmoid", "cross_entropy"), Composition("relu", "mse"),
                   Composition("relu", "power", 4), Composition("piecewise_linear", "cross_entropy")):
        for cls in "-+":
            jm = JumpMap(comp_i, 0.8, 0.1, cls, 0.1, rotation_angle("class_mean", cls))
            xx = rng.normal(TWO_CLASSES.mean(cls), TWO_CLASSES.std(cls), N)
            r = N / best_of(lambda: jm.qdot(xx))
            worst = min(worst, r)
            print(f"  {comp_i.label:34s} class {cls}: {r / 1e6:8.1f} M samples/s")
    ok = worst >= BUDGET
    print(f"budget >= {BUDGET:.0e} samples/s on one core: {'met' if ok else 'MISSED'} "
          f"(slowest composition {worst / 1e6:.1f} M/s)")
    ok = stream_budget() and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
