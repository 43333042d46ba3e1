"""DDP through uqnb.dist on the CPU: 2 gloo processes (torchrun) train like 1 process with the same global batch."""
import json, os, subprocess, sys
from pathlib import Path

import numpy as np

from conftest import ROOT, BIN

TOL = 1e-5  # float32 rounding of the gradient all-reduce: |loss difference| and |weight difference| stay below this


def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'CUDA_VISIBLE_DEVICES': ''}
    script = str(ROOT/'tests'/'ddp_train.py')
    one = subprocess.run([sys.executable, script, str(tmp_path/'one.json')], capture_output=True, text=True, env=env, timeout=300)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([str(BIN/'torchrun'), '--standalone', '--nproc_per_node', '2', script, str(tmp_path/'two.json')],
                         capture_output=True, text=True, env=env, timeout=300)
    assert two.returncode == 0, two.stderr
    a, b = (json.loads((tmp_path/f).read_text()) for f in ('one.json', 'two.json'))
    assert (a['world_size'], b['world_size']) == (1, 2)
    la, lb = np.array(a['losses']), np.array(b['losses'])
    assert len(la) == len(lb) == 18            # 3 epochs x 96 samples / global batch 16
    assert la[-1] < 0.8 * la[0]                # it trains
    print(f"max |loss difference| over {len(la)} steps: {np.abs(la - lb).max():.2e}")
    np.testing.assert_allclose(lb, la, atol=TOL, rtol=0)
    for wa, wb in zip(a['weights'], b['weights']): np.testing.assert_allclose(wb, wa, atol=TOL, rtol=0)
