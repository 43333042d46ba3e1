"""Experiment `architecture_search` and uqnb.nas: the paper profile end to end on tiny CIFAR-10 fixtures through the CLI; a
search killed mid-run resumes to the same step log and metrics; bad input (FLOP budget below the smallest network, invalid
specs, a checkpoint of another spec or another search) fails with a clear error before any training; FLOP and parameter
counts equal torch-pruning's on random grown specs."""
import json, os, shutil, signal, subprocess, time
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import uqnb, ROOT, BIN, kill_when, checkpoint_states
from uqnb.data.formats import write_cifar10_fixture
from uqnb.nas.spec import NetSpec, Stage, build, validate, count_ops, count_params, conv_macs, single_conv, cifar_resnet
from uqnb.nas.search import SearchConfig, TrainConfig, as_data, run_search, save_net

METRIC_KEYS = ('acc_start', 'acc_final', 'acc_handcrafted_resnet', 'flops_final', 'params_final', 'flops_handcrafted', 'steps', 'seeds')


def test_paper_profile_runs_end_to_end_on_cifar_fixtures(tmp_path):
    write_cifar10_fixture(tmp_path/'cifar', n_per_batch=8)
    reports = tmp_path/'reports'
    r = uqnb('run', 'architecture_search', '--profile', 'paper', '-p', 'cifar_root', str(tmp_path/'cifar'), '-p', 'n_val', '8',
             '-p', 'n_test', '8', '-p', 'iterations', '2', '-p', 'reg_iterations', '2', '-p', 'finetune_iterations', '1', '-p', 'pipeline', 'll,mn,ll,mn',
             env={'UQNB_REPORTS': str(reports)})
    assert r.returncode == 0, r.stderr[-3000:]
    out = reports/'architecture_search'/'paper'
    for f in ('fig8.png', 'fig8.svg', 'fig9.png', 'fig9.svg', 'table1.csv', 'table2.csv', 'architecture_search.html', 'timings.json'):
        assert (out/f).stat().st_size > 0, f
    m = json.loads((out/'metrics.json').read_text())
    for k in METRIC_KEYS: assert k in m, k
    assert m['steps'] == 5 and m['seeds'] == 1 and m['paper_acc'] == 0.9297
    assert m['flops_handcrafted'] == 2 * conv_macs(cifar_resnet(3, (16, 32, 64)), 32)    # ResNet-20 is the paper's reference
    assert m['flops_final'] <= m['flops_handcrafted']
    steps = (out/'table1.csv').read_text().splitlines()
    assert len(steps) == 1 + 5 and ',mn,' in steps[3]
    man = json.loads((out/'manifest.json').read_text())
    assert man['profile'] == 'paper' and man['parameters']['cifar_root'] == str(tmp_path/'cifar')


def test_killed_search_resumes_to_the_same_step_log(tmp_path):
    args = ['run', 'architecture_search', '--profile', 'smoke', '-p', 'iterations', '30', '-p', 'reg_iterations', '30', '-p', 'pipeline', 'll,ll,mn,ll']
    ref = uqnb(*args, env={'UQNB_REPORTS': str(tmp_path/'ref')})
    assert ref.returncode == 0, ref.stderr[-3000:]
    reports = tmp_path/'killed'
    ckpt = reports/'_checkpoints'/'architecture_search'
    # kill once the search has checkpointed two steps, in the middle of the pipeline
    kill_when(args, reports, lambda: any(len(s['log']) >= 2 for s in checkpoint_states(ckpt)))
    assert not (reports/'architecture_search'/'smoke').exists()
    (state,) = list(ckpt.rglob('state.json'))
    assert 2 <= len(json.loads(state.read_text())['log']) < 5
    again = uqnb(*args, env={'UQNB_REPORTS': str(reports)})
    assert again.returncode == 0, again.stderr[-3000:]
    a, b = tmp_path/'ref'/'architecture_search'/'smoke', reports/'architecture_search'/'smoke'
    for f in ('metrics.json', 'table1.csv', 'table2.csv'):
        assert (a/f).read_text() == (b/f).read_text(), f


@pytest.mark.parametrize('params, message', [
    (['-p', 'flop_budget', '1000'], 'below the smallest network'),
    (['-p', 'pipeline', 'll,grow'], "unknown steps ['grow']"),
    (['-p', 'cifar_root', '/nonexistent'], 'belongs to the paper profile'),
    (['-p', 'n_train', '0'], 'n_train must be >= 1'),
])
def test_bad_parameters_fail_before_training(tmp_path, params, message):
    t = time.time()
    r = uqnb('run', 'architecture_search', '--profile', 'smoke', *params, env={'UQNB_REPORTS': str(tmp_path)})
    assert r.returncode != 0 and message in r.stderr, r.stderr[-2000:]
    assert not list(tmp_path.rglob('state.json'))        # no search step ran


def test_paper_profile_needs_cifar(tmp_path):
    r = uqnb('run', 'architecture_search', '--profile', 'paper', env={'UQNB_REPORTS': str(tmp_path)})
    assert r.returncode != 0 and 'needs the parameter cifar_root' in r.stderr


@pytest.mark.parametrize('spec, message', [
    (NetSpec(0, (Stage(8),)), 'stem width must be a positive integer'),
    (NetSpec(8, ()), 'no stage'),
    (NetSpec(8, (Stage(0, 1, ()),)), 'stage 0 width'),
    (NetSpec(8, (Stage(8, 1, (4, 0)),)), 'stage 0 block 1 inner width'),
    (NetSpec(8, (Stage(8, 2, (4,)),), num_classes=0), 'num_classes'),
])
def test_invalid_specs_are_refused(spec, message):
    with pytest.raises(ValueError, match=message): validate(spec)
    with pytest.raises(ValueError, match=message): build(spec)


def _tiny_data():
    rng = np.random.default_rng(0)
    return as_data({s: (rng.integers(0, 255, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)) for s, n in
                    (('train', 32), ('val', 8), ('test', 8))})


def test_checkpoint_of_another_spec_is_refused(tmp_path):
    D = _tiny_data()
    cfg = SearchConfig(pipeline=('ll', 'll'), train=TrainConfig(iterations=2, batch_size=8, warmup=1), finetune_iterations=1,
                       flop_budget=1e6)
    start = single_conv(4, (4, 8, 8))
    run_search(start, D, cfg, tmp_path/'s', seed=0, stop_after=1)
    save_net(tmp_path/'s'/'step001.pt', build(cifar_resnet(1, (4, 8, 8))))        # another network where step 1's should be
    with pytest.raises(ValueError, match='holds another spec'): run_search(start, D, cfg, tmp_path/'s', seed=0)
    with pytest.raises(ValueError, match='holds a search with other config'):
        run_search(start, D, SearchConfig(**{**cfg.__dict__, 'insert': 2}), tmp_path/'s', seed=0)
    with pytest.raises(ValueError, match='below the smallest network'):
        run_search(start, D, SearchConfig(pipeline=('mn',), flop_budget=10.0), tmp_path/'t', seed=0)
    assert not (tmp_path/'t'/'state.json').exists()


def test_counts_equal_torch_pruning_on_random_grown_specs():
    tp = pytest.importorskip('torch_pruning')
    rng = np.random.default_rng(0)
    for _ in range(12):
        stages = tuple(Stage(int(rng.integers(1, 24)), int(rng.integers(1, 3)), tuple(int(w) for w in rng.integers(1, 24, rng.integers(0, 3))))
                       for _ in range(rng.integers(1, 4)))
        spec = NetSpec(int(rng.integers(1, 24)), stages, num_classes=int(rng.integers(2, 12)), stem_kernel=int(rng.choice([1, 3, 5])),
                       stem_stride=int(rng.integers(1, 3)), stem_pool=bool(rng.integers(2)))
        size = int(rng.integers(17, 40))
        ops, params = tp.utils.count_ops_and_params(build(spec), torch.randn(1, 3, size, size))
        assert (int(ops), int(params)) == (count_ops(spec, size), count_params(spec)), spec
