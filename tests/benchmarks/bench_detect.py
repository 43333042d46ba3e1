"""Benchmarks of uqnb.detect: AP50 (target: 2 000 images, ~5 GT and ~20 predictions each, <= 1 s) and MetaDetect features.

Run: .venv/bin/python tests/benchmarks/bench_detect.py [--no-coco]
"""
import argparse, contextlib, io, time

import numpy as np
import torch

from uqnb.detect.evaluation import average_precision50


def make_data(n_img=2000, num_classes=10, seed=0):
    "Ground truth ~Poisson(5) per image; ~20 predictions: jittered ground-truth boxes (~10) plus random boxes (~10)."
    rng = np.random.default_rng(seed)
    preds, targets = [], []
    for _ in range(n_img):
        m = rng.poisson(5)
        xy = rng.uniform(0, 280, (m, 2)); g = np.c_[xy, xy + rng.uniform(10, 60, (m, 2))]
        gl = rng.integers(0, num_classes, m)
        n_hit = rng.poisson(10) if m else 0
        src = rng.integers(0, max(m, 1), n_hit)
        hit = g[src] + rng.normal(0, 4, (n_hit, 4)) if m else np.zeros((0, 4))
        hl = gl[src] if m else np.zeros(0, int)
        n_rand = rng.poisson(10)
        xy = rng.uniform(0, 280, (n_rand, 2)); r = np.c_[xy, xy + rng.uniform(10, 60, (n_rand, 2))]
        b = np.r_[hit, r]; b = np.c_[np.minimum(b[:, :2], b[:, 2:]), np.maximum(b[:, :2], b[:, 2:])]
        s = rng.random(len(b)) * 0.7 + np.r_[np.full(n_hit, 0.3), np.zeros(n_rand)]
        preds.append(dict(boxes=torch.tensor(b, dtype=torch.float32), scores=torch.tensor(s, dtype=torch.float32),
                          labels=torch.tensor(np.r_[hl, rng.integers(0, num_classes, n_rand)], dtype=torch.int64)))
        targets.append(dict(boxes=torch.tensor(g, dtype=torch.float32), labels=torch.tensor(gl, dtype=torch.int64)))
    return preds, targets


def coco_ap50(preds, targets, num_classes):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    anns, dets = [], []
    for i, (p, t) in enumerate(zip(preds, targets)):
        for b, l in zip(t['boxes'].double().tolist(), t['labels'].tolist()):
            bb = [b[0], b[1], b[2] - b[0], b[3] - b[1]]
            anns.append(dict(id=len(anns) + 1, image_id=i + 1, category_id=l + 1, bbox=bb, area=bb[2] * bb[3], iscrowd=0))
        for b, s, l in zip(p['boxes'].double().tolist(), p['scores'].double().tolist(), p['labels'].tolist()):
            dets.append(dict(image_id=i + 1, category_id=l + 1, bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]], score=s))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(); gt.dataset = dict(images=[dict(id=i + 1) for i in range(len(targets))], annotations=anns,
                                       categories=[dict(id=k + 1) for k in range(num_classes)])
        gt.createIndex()
        E = COCOeval(gt, gt.loadRes(dets), 'bbox'); E.evaluate(); E.accumulate(); E.summarize()
    return E.stats[1]


def best_of(f, repeat=3):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); out = f(); ts.append(time.perf_counter() - t0)
    return min(ts), out


def bench_metadetect():
    from uqnb.detect.metadetect import synthetic_detections, metadetect_features
    kept, cands, targets = synthetic_detections(200, num_classes=10, seed=0)
    n_k = sum(len(k['scores']) for k in kept); n_c = sum(len(c['scores']) for c in cands)
    t, _ = best_of(lambda: [metadetect_features(k, c, num_classes=10) for k, c in zip(kept, cands)])
    return t, n_k, n_c


def bench_metadetect_vs_inference(size=128, n_img=64, width='narrow'):
    """MetaDetect features of a real detector's output vs the inference that produced it (target: <= 10 %).
    An untrained RetinaNet scores every anchor at the prior 0.01; the classification bias is raised until about 300
    candidates per image pass the score threshold (of which NMS keeps tens), as for a detector in training."""
    from uqnb.core import seed_everything
    from uqnb.data.glyphs import GlyphSandbox
    from uqnb.detect.model import build_retinanet, predict
    from uqnb.detect.metadetect import metadetect_features
    seed_everything(0, threads=1)
    images = [GlyphSandbox('digits', 'val', n_img, size)[i][0] for i in range(n_img)]
    model = build_retinanet(10, size, width).eval()
    cls = model.head.classification_head.cls_logits
    torch.nn.init.normal_(cls.weight, std=0.01)
    lo, hi = -8.0, 0.0                         # bisect the bias: ~300 candidates above the score threshold per image
    for _ in range(20):
        torch.nn.init.constant_(cls.bias, (lo + hi) / 2)
        n = np.mean([len(o['candidates']['scores']) for o in predict(model, images[:4], return_candidates=True)])
        lo, hi = ((lo + hi) / 2, hi) if n < 300 else (lo, (lo + hi) / 2)
    t_inf, out = best_of(lambda: predict(model, images, return_candidates=True, batch_size=16), repeat=2)
    t_inf0, _ = best_of(lambda: predict(model, images, return_candidates=False, batch_size=16), repeat=2)
    t_md, _ = best_of(lambda: [metadetect_features(o, o['candidates'], num_classes=10) for o in out])
    n_k = sum(len(o['scores']) for o in out); n_c = sum(len(o['candidates']['scores']) for o in out)
    return t_inf0, t_inf, t_md, n_k, n_c


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--no-coco', action='store_true'); args = ap.parse_args()
    preds, targets = make_data()
    n_p = sum(len(p['scores']) for p in preds); n_g = sum(len(t['labels']) for t in targets)
    t_ours, res = best_of(lambda: average_precision50(preds, targets, num_classes=10))
    rows = [('average_precision50 (2000 img)', f'{t_ours:.3f}', '<= 1.0', f'AP50={res.ap50:.4f}; {n_g} GT, {n_p} predictions')]
    if not args.no_coco:
        t_coco, ref = best_of(lambda: coco_ap50(preds, targets, 10), repeat=1)
        rows.append(('pycocotools COCOeval (same data)', f'{t_coco:.3f}', '-', f'AP50={ref:.4f}'))
    try:
        t_md, n_k, n_c = bench_metadetect()
        rows.append(('metadetect_features (200 img)', f'{t_md:.3f}', '-', f'{n_k} kept boxes, {n_c} candidates'))
    except ImportError as e:
        rows.append(('metadetect_features', 'n/a', '-', str(e)))
    for size, width in ((128, 'narrow'), (128, 'full')):
        t_inf0, t_inf, t_md, n_k, n_c = bench_metadetect_vs_inference(size, width=width)
        rows.append((f'inference, 64 img {size} px {width} (without / with candidates)', f'{t_inf0:.3f} / {t_inf:.3f}', '-', ''))
        rows.append((f'metadetect_features of that output', f'{t_md:.3f}', '<= 10 % of inference',
                     f'{100 * t_md / t_inf0:.1f} % of inference; {n_k} kept boxes, {n_c} candidates'))
    w = [max(len(r[i]) for r in rows + [('what', 'seconds', 'target', 'notes')]) for i in range(4)]
    for r in [('what', 'seconds', 'target', 'notes')] + rows:
        print(' | '.join(x.ljust(n) for x, n in zip(r, w)))


if __name__ == '__main__':
    main()
