"""Data-parallel trainings through uqnb.dist: what `processes=N` costs and gives.

1. The launch overhead: `uqnb.dist.probe(processes=N)`, which starts N torchrun processes that only join the group and
   report, so its wall time is the price of every multi-process training call (torch imports, rendezvous, spec and result).
2. A segmentation training (SmallSegNet on embedded scenes) with processes=1 and processes=N, same global batch: wall time
   of the call and seconds per epoch taken from the history (the training alone, without the launch).
On a GPU node (`--device cuda`) each process has its own GPU; on the CPU the processes use gloo and share the cores, so the
per-epoch figure shows the communication cost rather than a speed-up.
Run:  .venv/bin/python tests/benchmarks/bench_dist.py [--processes 2 --images 64 --size 64 128 --epochs 2 --repeats 3]
      .venv/bin/python tests/benchmarks/bench_dist.py --device cuda --processes 4 --width 32 --images 512 --size 256 512
"""
import argparse, copy, json, statistics, time

import torch

from uqnb.core import seed_everything
from uqnb.data.scenes import SceneDataset
from uqnb.data.wrappers import CachedDataset
from uqnb.dist import probe
from uqnb.seg.models import SmallSegNet, train_segmentation


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--processes', type=int, default=2)
    ap.add_argument('--images', type=int, default=64)
    ap.add_argument('--size', type=int, nargs=2, default=(64, 128))
    ap.add_argument('--width', type=int, default=16)
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--device', default='cpu')
    a = ap.parse_args()
    seed_everything(0, threads=1)
    launch = []
    for _ in range(a.repeats):
        t0 = time.perf_counter(); probe(processes=a.processes); launch.append(time.perf_counter() - t0)
    ds = CachedDataset(SceneDataset(a.images, 'sim', seed=0, size=tuple(a.size)))
    net = SmallSegNet(width=a.width)
    rows = {}
    for n in (1, a.processes):
        walls, epochs = [], []
        for _ in range(a.repeats):
            m = copy.deepcopy(net)
            t0 = time.perf_counter()
            h = train_segmentation(m, ds, epochs=a.epochs, batch_size=a.batch_size, device=a.device, progress=False, processes=n)
            walls.append(time.perf_counter() - t0); epochs.append(statistics.mean(r['seconds'] for r in h))
        rows[n] = dict(wall_s=statistics.median(walls), epoch_s=statistics.median(epochs))
    out = dict(processes=a.processes, device=a.device, threads=torch.get_num_threads(),
               launch_s=dict(median=statistics.median(launch), runs=[round(x, 2) for x in launch]),
               train={str(k): {kk: round(vv, 3) for kk, vv in v.items()} for k, v in rows.items()},
               setting=dict(images=a.images, size=a.size, width=a.width, batch_size=a.batch_size, epochs=a.epochs))
    print(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
