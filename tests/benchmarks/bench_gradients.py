"""Gradient-uncertainty features vs inference time for one batch (RetinaNet ResNet18-FPN, CPU).

Run: .venv/bin/python tests/benchmarks/bench_gradients.py [--size 128] [--batch 8] [--repeats 3]
Prints, per model width and number of boxes per image: the inference time of the batch (`predict`: forward
pass + post-processing with candidates), the extra time of the gradient features of all its kept boxes
(`box_gradient_features` on the same forward pass), and their ratio (goal: <= 1).
"""
import argparse, time
import numpy as np, torch
from torch import nn
from uqnb.core import seed_everything
from uqnb.detect.model import build_retinanet, predict, run_heads, postprocess
from uqnb.detect.gradients import box_gradient_features, gradient_features

def median_time(f, repeats):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return float(np.median(ts))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--size', type=int, default=128); ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--repeats', type=int, default=3); ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    seed_everything(0, threads=a.threads)
    images = torch.rand(a.batch, 3, a.size, a.size, generator=torch.Generator().manual_seed(0))
    print(f"images {a.batch}x3x{a.size}x{a.size}, {torch.get_num_threads()} threads, median of {a.repeats}")
    print(f"{'width':8}{'boxes/img':>10}{'inference s':>13}{'grad feats s':>14}{'ratio':>8}{'all-in-one s':>14}")
    for width in ('narrow', 'full'):
        model = build_retinanet(10, a.size, width).eval()
        # an untrained model scores everything at the prior; spread the scores so that boxes are found
        nn.init.normal_(model.head.classification_head.cls_logits.weight, std=0.05)
        nn.init.constant_(model.head.classification_head.cls_logits.bias, -1.0)
        nn.init.normal_(model.head.regression_head.bbox_reg.weight, std=0.02)
        for dets in (10, 100):
            predict(model, images, detections_per_img=dets)                       # warm-up
            t_inf = median_time(lambda: predict(model, images, detections_per_img=dets), a.repeats)
            with torch.no_grad():
                out = run_heads(model, images)
                kept, _ = postprocess(model, out, detections_per_img=dets)
            n = np.mean([len(k['boxes']) for k in kept])
            box_gradient_features(model, out, kept)
            t_g = median_time(lambda: box_gradient_features(model, out, kept), a.repeats)
            t_all = median_time(lambda: gradient_features(model, images, detections_per_img=dets), a.repeats)
            print(f"{width:8}{n:>10.0f}{t_inf:>13.3f}{t_g:>14.3f}{t_g / t_inf:>8.2f}{t_all:>14.3f}", flush=True)

if __name__ == '__main__':
    main()
