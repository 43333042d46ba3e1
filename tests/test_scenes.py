"""What notebook cells of 01_data.scenes cannot show well: worker processes of a DataLoader render the
same scenes as the main process, and the speed benchmark runs (tiny sizes, no timing asserted)."""
import subprocess, sys
from pathlib import Path

import torch

from uqnb.data.scenes import SceneDataset

ROOT = Path(__file__).resolve().parents[1]


def test_dataloader_workers_render_the_same_scenes():
    ds = SceneDataset(8, 'real', seed=3, size=(32, 64), ood='anomaly', ood_family='test')
    serial = [ds[i] for i in range(len(ds))]
    parallel = [b for b in torch.utils.data.DataLoader(ds, batch_size=1, num_workers=2)]
    for (x, y), (xb, yb) in zip(serial, parallel):
        assert torch.equal(x, xb[0]) and torch.equal(y, yb[0])


def test_bench_scenes_runs():
    r = subprocess.run([sys.executable, str(ROOT/'tests'/'benchmarks'/'bench_scenes.py'), '--n', '3', '--repeats', '1',
                        '--size', '32', '64'], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert 'scenes/s' in r.stdout and ' real ' in r.stdout
