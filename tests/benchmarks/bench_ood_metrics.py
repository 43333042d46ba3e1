"""Benchmark of uqnb.ood.metrics on synthetic 1024x2048 frames.

Run: .venv/bin/python tests/benchmarks/bench_ood_metrics.py [--frames 100] [--exact-frames 8] [--repeats 5]
Prints Mpixel/s of the exact and the streaming pixel metrics and s/frame of the component metrics.
Targets: streaming >= 50 Mpixel/s over 100 frames; component metrics <= 0.3 s/frame with ~4000 raw components.
"""
import argparse, platform, time

import numpy as np
from scipy import ndimage

from uqnb.ood.metrics import ComponentMetrics, StreamingPixelMetrics, pixel_metrics

H, W = 1024, 2048


def pixel_frame(rng):
    "Scores in [0, 1] (float32) and labels: trainIds, ~5 % OoD blobs (254), ~10 % void (255)."
    labels = rng.integers(0, 19, (H, W)).astype(np.uint8)
    blobs = ndimage.zoom(rng.random((H // 64, W // 64)), 64, order=1) > 0.85
    labels[blobs] = 254
    labels[-H // 10:] = 255
    scores = np.clip(rng.normal(0.3, 0.15, (H, W)) + 0.3 * blobs, 0, 1).astype(np.float32)
    return scores, labels


def component_frame(rng, n_cells=(40, 100)):
    "A frame whose thresholded score map has one predicted blob per grid cell (4000 raw components), 60 GT blobs, void."
    ch, cw = H // n_cells[0], W // n_cells[1]
    scores = (rng.random((H, W), dtype=np.float32) * 0.4)
    for i in range(n_cells[0]):
        hs = rng.integers(2, ch - 1, n_cells[1]); ws = rng.integers(2, cw - 1, n_cells[1])
        for j in range(n_cells[1]):
            y, x = i * ch, j * cw
            scores[y:y + hs[j], x:x + ws[j]] = 0.9
    labels = rng.integers(0, 19, (H, W)).astype(np.uint8)
    yy, xx = np.mgrid[:H, :W]
    for cy, cx, r in zip(rng.integers(0, H, 60), rng.integers(0, W, 60), rng.integers(5, 60, 60)):
        y0, y1, x0, x1 = max(cy - r, 0), min(cy + r, H), max(cx - r, 0), min(cx + r, W)
        disc = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 <= r * r
        labels[y0:y1, x0:x1][disc] = 254
    labels[-H // 20:] = 255
    return scores, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--frames', type=int, default=100)
    ap.add_argument('--exact-frames', type=int, default=8)
    ap.add_argument('--repeats', type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    pool = [pixel_frame(rng) for _ in range(4)]   # cycled: generating 100 distinct frames costs more than the metric
    print(f"# {platform.processor() or platform.machine()}, numpy {np.__version__}; frames {H}x{W}")
    rows = []

    t = time.perf_counter()
    m = pixel_metrics([pool[i % 4][0] for i in range(args.exact_frames)], [pool[i % 4][1] for i in range(args.exact_frames)])
    dt = time.perf_counter() - t
    rows.append((f'pixel exact ({args.exact_frames} frames)', f'{args.exact_frames * H * W / dt / 1e6:.1f} Mpixel/s', f'{dt:.2f} s'))

    sm = StreamingPixelMetrics()
    t = time.perf_counter()
    for i in range(args.frames): sm.update(*pool[i % 4])
    ms = sm.compute()
    dt = time.perf_counter() - t
    rows.append((f'pixel streaming ({args.frames} frames, 2^16 bins)', f'{args.frames * H * W / dt / 1e6:.1f} Mpixel/s', f'{dt:.2f} s'))
    sm8 = StreamingPixelMetrics()
    for i in range(args.exact_frames): sm8.update(*pool[i % 4])
    err = max(abs(sm8.compute()[k] - m[k]) for k in ('auprc', 'fpr95', 'auroc'))

    s, l = component_frame(rng)
    n_raw = ndimage.label(s >= 0.5, np.ones((3, 3)))[1]
    times = []
    for _ in range(args.repeats):
        cm = ComponentMetrics(0.5, min_pred_size=50, min_gt_size=10)
        t = time.perf_counter(); r = cm.update(s, l); times.append(time.perf_counter() - t)
    rows.append((f'components ({n_raw} raw, {len(r["ppv"])} kept pred, {len(r["siou_gt"])} GT)',
                 f'{np.median(times):.3f} s/frame', f'min {min(times):.3f} s'))

    w = max(len(a) for a, _, _ in rows)
    for a, b, c in rows: print(f'{a:<{w}}  {b:>18}  {c:>12}')
    print(f'max |streaming - exact| over AuPRC/FPR95/AUROC on {args.exact_frames} frames: {err:.2e}')


if __name__ == '__main__':
    main()
