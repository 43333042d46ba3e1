"""The paper profiles' GPU path in one short run: CUDA, mixed precision and DDP, with the figures to record in the docs.

Checks, each timed, written as one JSON object to --out (and printed):
1. the device: torch build, CUDA runtime, driver, GPU model and count (`uqnb.batch.device_info`);
2. DDP: `uqnb.dist.probe` on N processes (NCCL on GPUs), and a segmentation training on N processes against one process
   with the same global batch (no batch norm, no dropout, as in tests/test_dist.py): the largest loss and weight differences;
3. mixed precision: CycleGAN iterations per second with and without `amp` (`tests/benchmarks/bench_cyclegan.py`'s networks);
4. the smoke profiles of anomaly and active learning through the runner with `-p device cuda -p processes N`.
On a machine without a GPU it runs the same on the CPU (gloo), which checks the script itself.
Run:  .venv/bin/python tests/benchmarks/gpu_check.py [--processes 2] [--out gpu_check.json]
"""
import argparse, copy, json, os, subprocess, sys, time
from pathlib import Path

import torch
from torch import nn

from uqnb.batch import device_info
from uqnb.core import seed_everything
from uqnb.data.scenes import SceneDataset
from uqnb.data.wrappers import CachedDataset
from uqnb.dist import probe
from uqnb.gan.training import CycleGAN, CycleGANTrainer, GANConfig, train_cyclegan
from uqnb.seg.models import SmallSegNet, train_segmentation

ROOT = Path(__file__).resolve().parents[2]


def _no_bn(m):
    for name, ch in m.named_children():
        setattr(m, name, nn.Identity()) if isinstance(ch, nn.BatchNorm2d) else _no_bn(ch)
    return m


def timed(fn):
    t0 = time.perf_counter(); out = fn(); return out, round(time.perf_counter() - t0, 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--processes', type=int, default=None, help='processes for DDP (default: the GPUs, at least 2)')
    ap.add_argument('--out', default='gpu_check.json')
    ap.add_argument('--skip-runs', action='store_true', help='leave out the smoke runs of the experiments')
    a = ap.parse_args()
    cuda = torch.cuda.is_available()
    dev = 'cuda' if cuda else 'cpu'
    n = a.processes or max(2, torch.cuda.device_count() if cuda else 2)
    res = dict(device=device_info('auto'), processes=n)
    res['probe'], res['probe_s'] = timed(lambda: probe(processes=n))

    seed_everything(0)
    ds = CachedDataset(SceneDataset(4 * n + 3, 'sim', seed=0, size=(64, 128)))
    net = _no_bn(SmallSegNet(num_classes=10, width=8, dropout=0.0))
    one, two = copy.deepcopy(net), copy.deepcopy(net)
    kw = dict(epochs=2, batch_size=2 * n, progress=False, device=dev)
    h1, res['seg_1_process_s'] = timed(lambda: train_segmentation(one, ds, processes=1, **kw))
    hn, res['seg_n_processes_s'] = timed(lambda: train_segmentation(two, ds, processes=n, **kw))
    res['seg_max_loss_diff'] = max(abs(x['loss'] - y['loss']) for x, y in zip(h1, hn))
    res['seg_max_weight_diff'] = max((p.double().cpu() - q.double().cpu()).abs().max().item()
                                     for p, q in zip(one.state_dict().values(), two.state_dict().values()))

    real, sim = (CachedDataset(SceneDataset(16, s, seed=k, size=(128, 256))) for k, s in ((1, 'real'), (2, 'sim')))
    for amp in ((False, True) if cuda else (False,)):
        torch.manual_seed(0)
        tr = CycleGANTrainer(CycleGAN(GANConfig(ngf=32, ndf=32, n_blocks=6), seed=0), 40, seed=0, amp=amp)
        train_cyclegan(tr, real, sim, batch_size=2, progress=False, device=dev, stop_after=5)   # warm-up: 5 iterations
        if cuda: torch.cuda.synchronize()
        t0 = time.perf_counter()
        h = train_cyclegan(tr, real, sim, batch_size=2, progress=False, device=dev)
        if cuda: torch.cuda.synchronize()
        res[f'cyclegan_it_per_s_amp_{amp}'] = round(35 / (time.perf_counter() - t0), 2)
        res[f'cyclegan_final_G_amp_{amp}'] = h[-1]['G']

    if not a.skip_runs:
        env = {**os.environ, 'UQNB_REPORTS': str(Path(a.out).resolve().parent/'gpu_check_reports')}
        for exp in ('anomaly', 'active_learning'):
            cmd = [str(Path(sys.executable).parent/'uqnb'), 'run', exp, '--profile', 'smoke', '-p', 'device', dev, '-p', 'processes', str(n)]
            r, s = timed(lambda: subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200))
            res[f'{exp}_smoke'] = dict(rc=r.returncode, seconds=s, tail=r.stderr[-800:] if r.returncode else '')
    Path(a.out).write_text(json.dumps(res, indent=1, default=str))
    print(json.dumps(res, indent=1, default=str))


if __name__ == '__main__':
    main()
