"""Experiment `active_learning`: the `paper` profile end to end on the CPU, on tiny fixtures in the real formats
(MNIST and EMNIST idx files, COCO photos, the sandbox written by data_scripts/make_glyph_sandbox.py), through the
real CLI; a run killed mid-loop resumes to the same numbers; bad parameters fail with clear errors."""
import json, math, os, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import uqnb, ROOT, BIN, kill_when, checkpoint_states
from uqnb.data.formats import write_mnist_fixture, write_emnist_fixture

SCRIPT = ROOT/'data_scripts'/'make_glyph_sandbox.py'


def _sandbox(tmp, kind, root):
    out = tmp/f'sb_{kind}'
    r = subprocess.run([sys.executable, str(SCRIPT), f'--{kind}-root', str(root), '--coco-root', str(tmp/'coco'), '--out', str(out),
                        '--size', '64', '--n-train', '16', '--n-val', '6', '--n-test', '6', '--quiet'],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope='module')
def sandboxes(tmp_path_factory):
    d = tmp_path_factory.mktemp('al_data')
    write_mnist_fixture(d/'mnist', n_train=60, n_test=20)
    write_emnist_fixture(d/'emnist', n_train=60, n_test=20)
    coco = d/'coco'/'train2017'; coco.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(12): Image.fromarray(rng.integers(0, 255, (70, 90, 3), dtype=np.uint8)).save(coco/f'{k:012d}.jpg')
    return _sandbox(d, 'mnist', d/'mnist'), _sandbox(d, 'emnist', d/'emnist')


PAPER_STRATS = ['random', 'mc_dropout', 'metadetect', 'gradient']   # all seven run in the smoke test of tests/test_experiments.py
SMALL = ['-p', 'strategies', ','.join(PAPER_STRATS), '-p', 'n_seeds', '1', '-p', 'steps', '1', '-p', 'query', '3', '-p', 'initial', '4', '-p', 'iterations', '2', '-p', 'pool_size', '12']


def test_paper_profile_runs_end_to_end(sandboxes, tmp_path):
    mnist, emnist = sandboxes
    reports = tmp_path/'reports'
    r = uqnb('run', 'active_learning', '--profile', 'paper', '-p', 'mnist_root', str(mnist), '-p', 'emnist_root', str(emnist), *SMALL,
             env={'UQNB_REPORTS': str(reports)})
    assert r.returncode == 0, r.stderr[-3000:]
    out = reports/'active_learning'/'paper'
    for f in ('fig5.png', 'fig6.png', 'fig7.png', 'fig7.svg', 'table1.csv', 'table2.csv', 'active_learning.html', 'manifest.json'):
        assert (out/f).stat().st_size > 0, f
    m = json.loads((out/'metrics.json').read_text())
    assert m['seeds'] == 1 and m['glyphs'] == 'digits'
    for s in PAPER_STRATS:
        for k in (f'auc_images_{s}', f'auc_boxes_{s}', f'step_seconds_{s}', f'auc_images_{s}_letters'):
            assert isinstance(m[k], float) and math.isfinite(m[k]), k
        assert 0 <= m[f'auc_images_{s}'] <= 1
    t1 = (out/'table1.csv').read_text()
    assert 'letters' in t1 and 'digits' in t1           # both glyph sets in the paper profile
    man = json.loads((out/'manifest.json').read_text())
    assert man['profile'] == 'paper' and man['parameters']['mnist_root'] == str(mnist)


def test_killed_run_resumes_to_the_same_numbers(tmp_path):
    """Kill a default-profile-like run (embedded data, tiny sizes) in the middle of the loop, rerun: the same metrics.json."""
    args = ['run', 'active_learning', '--profile', 'smoke', '-p', 'strategies', 'random,metadetect', '-p', 'steps', '2']
    ref = uqnb(*args, env={'UQNB_REPORTS': str(tmp_path/'ref')})
    assert ref.returncode == 0, ref.stderr[-3000:]
    reports = tmp_path/'killed'
    ckpt = reports/'_checkpoints'/'active_learning'
    # kill everything once a run has finished at least one query step
    kill_when(args, reports, lambda: any(len(s['history']) >= 2 for s in checkpoint_states(ckpt)), poll=0.2)
    assert not (reports/'active_learning'/'smoke').exists()
    again = uqnb(*args, env={'UQNB_REPORTS': str(reports)})
    assert again.returncode == 0, again.stderr[-3000:]
    assert 'resuming from the checkpoints' in again.stderr
    assert not list(reports.glob('.tmp-*'))   # the killed run's temporary folder was cleaned up by the rerun
    a = json.loads((reports/'active_learning'/'smoke'/'metrics.json').read_text())
    b = json.loads((tmp_path/'ref'/'active_learning'/'smoke'/'metrics.json').read_text())
    drop = lambda m: {k: v for k, v in m.items() if 'seconds' not in k}
    assert drop(a) == drop(b)


@pytest.mark.parametrize('params, message', [
    (['-p', 'strategies', 'random,bald'], "parameter strategies: unknown strategy 'bald'"),
    (['--profile', 'paper'], 'the paper profile needs the parameter mnist_root'),
    (['--profile', 'paper', '-p', 'mnist_root', '/nonexistent/sb'], 'parameter mnist_root: folder not found: /nonexistent/sb'),
])
def test_bad_parameters_fail_clearly(params, message, tmp_path):
    args = ['run', 'active_learning'] + (params if params[0] == '--profile' else ['--profile', 'smoke', *params])
    r = uqnb(*args, env={'UQNB_REPORTS': str(tmp_path)})
    assert r.returncode == 1 and message in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'active_learning').exists()
