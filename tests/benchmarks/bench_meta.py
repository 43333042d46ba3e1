"""Benchmark of uqnb.meta.segments on a synthetic 1024x2048 frame with 19 classes and ~2000 predicted OoD segments.

Run: .venv/bin/python tests/benchmarks/bench_meta.py [--repeats 3] [--blobs 3000]
Prints seconds per image of `segment_features` (all MetaSeg features of all segments, segment map given),
of `predicted_segments` (full-image entropy + 8-connected labelling) and of `segment_targets`.
Target: segment_features <= 0.5 s per image.
"""
import argparse, os, platform, time

import numpy as np
from scipy import ndimage

from uqnb.meta.segments import predicted_segments, segment_features, segment_targets

H, W, Q = 1024, 2048, 19


def frame(rng, blobs=2000):
    "Softmax probabilities float32 [19,H,W] (smooth class regions, `blobs` irregular low-confidence blobs) and a label map."
    base = ndimage.zoom(rng.normal(size=(Q, H // 32, W // 32)).astype(np.float32), (1, 32, 32), order=1)
    conf = np.full((H, W), 12.0, np.float32)
    ys, xs, rs = rng.integers(0, H, blobs), rng.integers(0, W, blobs), rng.integers(1, 12, blobs)
    yy, xx = np.mgrid[-24:25, -24:25]
    wob = rng.normal(size=(blobs, 49, 49)).astype(np.float32)
    wob = ndimage.gaussian_filter(wob, (0, 3, 3)) * 8
    for y, x, r, w in zip(ys, xs, rs, wob):                     # irregular blobs (data generation, not timed)
        m = yy ** 2 + xx ** 2 <= (r + w) ** 2
        y0, x0 = y - 24, x - 24
        sl = (slice(max(y0, 0), min(y0 + 49, H)), slice(max(x0, 0), min(x0 + 49, W)))
        mm = m[sl[0].start - y0:sl[0].stop - y0, sl[1].start - x0:sl[1].stop - x0]
        conf[sl][mm] = 0.2
    logits = base * conf
    logits -= logits.max(0)
    P = np.exp(logits); P /= P.sum(0)
    label = rng.integers(0, Q, (H, W)).astype(np.uint8)
    label[conf < 1] = np.where(rng.random() < 0.5, 254, 0)
    ood = ndimage.zoom(rng.random((H // 64, W // 64)), 64, order=0) < 0.5
    label[(conf < 1) & ood] = 254
    return P.astype(np.float32), label


def timeit(fn, repeats):
    "Best wall time and best process CPU time over `repeats` runs (CPU time is less sensitive to other load), and the output."
    best = cpu = float('inf')
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time(); out = fn()
        best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return (best, cpu), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--blobs', type=int, default=3000)
    ap.add_argument('--threshold', type=float, default=0.7)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    P, label = frame(rng, a.blobs)
    load = os.getloadavg()[0]
    t_seg, (seg, n) = timeit(lambda: predicted_segments(P, a.threshold), a.repeats)
    t_feat, df = timeit(lambda: segment_features(P, seg), a.repeats)
    t_tgt, tg = timeit(lambda: segment_targets(seg, label, ood_id=254), a.repeats)
    print(f"{platform.processor() or platform.machine()}, numpy {np.__version__}; best of {a.repeats}")
    print(f"frame {H}x{W}, {Q} classes, {n} predicted segments covering {100 * (seg > 0).mean():.1f} % of the pixels, "
          f"{df.shape[1]} features")
    print(f"load average before timing: {load:.1f} on {os.cpu_count()} CPUs")
    print("| step | wall s/image | CPU s/image | target |\n|---|---|---|---|")
    print(f"| segment_features (all features, all segments) | {t_feat[0]:.3f} | {t_feat[1]:.3f} | <= 0.5 |")
    print(f"| predicted_segments (entropy of all pixels + labelling) | {t_seg[0]:.3f} | {t_seg[1]:.3f} | - |")
    print(f"| segment_targets (false positive, IoU) | {t_tgt[0]:.3f} | {t_tgt[1]:.3f} | - |")
    print(f"| total | {t_feat[0] + t_seg[0] + t_tgt[0]:.3f} | {t_feat[1] + t_seg[1] + t_tgt[1]:.3f} | - |")


if __name__ == '__main__':
    main()
