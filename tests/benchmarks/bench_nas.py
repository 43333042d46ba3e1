"""Architecture search benchmarks: (1) the overhead of the MorphNet and Layer Lasso regularisers per training step, target
<= 10 %; (2) torchvision's ResNet-18 at 224x224 counts the known 1.82 G (torch-pruning's count: conv and linear MACs plus
BN, ReLU and pooling operations; 1.814 G conv + linear MACs alone).

(1) times uqnb.nas.search.train on the same network and data with and without the regularisers (weight decay in both),
alternating the two, and reports the median seconds per step over --repeats runs. One CPU thread unless --threads.
Run:  .venv/bin/python tests/benchmarks/bench_nas.py  [--iterations 60 --repeats 5 --batch-size 64 --threads 1]
"""
import argparse, json, statistics, time

import numpy as np
import torch

from uqnb.core import seed_everything
from uqnb.nas.spec import NetSpec, Stage, RESNET18, build, cifar_resnet, count_ops, conv_macs
from uqnb.nas.search import TrainConfig, as_data, train


def step_seconds(spec, data, cfg, regularised, seed=0):
    torch.manual_seed(seed); net = build(spec)
    t = time.perf_counter()
    train(net, data, cfg, seed, 'cpu', mn_strength=0.5 if regularised else 0.0, ll_strength=1.0 if regularised else 0.0)
    return (time.perf_counter() - t) / cfg.iterations


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--iterations', type=int, default=60); ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--batch-size', type=int, default=64); ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args(argv)
    seed_everything(0, threads=a.threads)
    rng = np.random.default_rng(0)
    data = as_data({'train': (rng.integers(0, 255, (512, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 512))})
    cfg = TrainConfig(iterations=a.iterations, batch_size=a.batch_size, warmup=5)
    out = {}
    for name, spec in [('resnet8 8/16/32', cifar_resnet(1, (8, 16, 32))),
                       ('grown 4 blocks', NetSpec(8, (Stage(8, 1, (6, 8)), Stage(15, 2, (14,)), Stage(30, 2, (28,))))),
                       ('resnet20 16/32/64', cifar_resnet(3, (16, 32, 64)))]:
        plain, reg = [], []
        for _ in range(a.repeats):
            plain.append(step_seconds(spec, data, cfg, False)); reg.append(step_seconds(spec, data, cfg, True))
        p, r = statistics.median(plain), statistics.median(reg)
        out[name] = dict(plain_s_per_step=round(p, 4), regularised_s_per_step=round(r, 4), overhead_pct=round(100 * (r - p) / p, 2))
        print(f"{name}: {p * 1e3:.1f} ms/step plain, {r * 1e3:.1f} ms/step with MorphNet + Layer Lasso: overhead {100 * (r - p) / p:+.1f} % (target <= 10 %)")
    ops = count_ops(RESNET18, 224); macs = conv_macs(RESNET18, 224)
    import torchvision
    tp_ops = None
    try:
        import torch_pruning as tp
        tp_ops, _ = tp.utils.count_ops_and_params(torchvision.models.resnet18(), torch.randn(1, 3, 224, 224))
    except ImportError: pass
    out['resnet18_224'] = dict(count_ops=ops, conv_macs=macs, torch_pruning=None if tp_ops is None else int(tp_ops))
    print(f"ResNet-18 at 224x224: {ops / 1e9:.3f} G ops (uqnb.nas.spec.count_ops), "
          f"{'n/a' if tp_ops is None else f'{tp_ops / 1e9:.3f}'} G (torch-pruning), {macs / 1e9:.3f} G conv + linear MACs; target 1.82 G")
    print(json.dumps(out))


if __name__ == '__main__':
    main()
