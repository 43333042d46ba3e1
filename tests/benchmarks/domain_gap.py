"""The sim -> real domain gap of the procedural street scenes (uqnb.data.scenes).

Trains the same small segmentation net (uqnb.seg.models.SmallSegNet) once on `sim` and once on `real`
scenes of the same layouts, and tests both on held-out `real` scenes (and on held-out `sim` scenes).
Run:  .venv/bin/python tests/benchmarks/domain_gap.py  [--epochs 8 --n-train 400 ...]
"""
import argparse, json, time

import torch

from uqnb.core import seed_everything
from uqnb.data.scenes import SceneDataset
from uqnb.seg.models import SmallSegNet, train_segmentation, evaluate_segmentation, miou, iou_per_class


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n-train', type=int, default=400)
    ap.add_argument('--n-test', type=int, default=100)
    ap.add_argument('--epochs', type=int, default=8)
    ap.add_argument('--size', type=int, nargs=2, default=(64, 128))
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--width', type=int, default=16)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args(argv)
    size = tuple(a.size)
    test = {s: SceneDataset(a.n_test, s, seed=a.seed + 1000, size=size) for s in ('sim', 'real')}
    rows, t0 = {}, time.perf_counter()
    for train_style in ('sim', 'real'):
        seed_everything(a.seed, threads=a.threads)
        net = SmallSegNet(width=a.width)
        tr = SceneDataset(a.n_train, train_style, seed=a.seed, size=size)
        hist = train_segmentation(net, tr, epochs=a.epochs, lr=a.lr, batch_size=a.batch_size, seed=a.seed, device='cpu')
        for test_style, ds in test.items():
            cm = evaluate_segmentation(net, ds, device='cpu')
            rows[f'{train_style}->{test_style}'] = dict(miou=miou(cm, ds.class_ids),
                per_class={ds.class_names[k]: round(float(v), 3) for k, v in enumerate(iou_per_class(cm)[ds.class_ids])},
                final_loss=hist[-1]['loss'])
    wall = time.perf_counter() - t0
    print(f"| train -> test | mIoU (%) |\n|---|---|")
    for k, r in rows.items(): print(f"| {k} | {100 * r['miou']:.1f} |")
    gap = 100 * (rows['real->real']['miou'] - rows['sim->real']['miou'])
    print(f"\nsim->real loses {gap:.1f} pp mIoU against real->real  ({wall:.0f} s wall, {a.threads} threads; settings {vars(a)})")
    print(json.dumps(rows, indent=1))
    return rows


if __name__ == '__main__':
    main()
