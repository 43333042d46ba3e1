"""The `paper` profile of experiment `anomaly`, end to end on the CPU: tiny fixtures in the real formats
(Cityscapes, COCO, SegmentMeIfYouCan), a small DeepLabV3 weights file, the real CLI."""
import json, math

import pytest
import torch
from torch import nn

from conftest import uqnb
from uqnb.data.formats import write_cityscapes_fixture, write_coco_fixture, write_smiyc_fixture
from uqnb.seg.models import deeplabv3

KEYS = ['auprc_best_baseline', 'auprc_entmax', 'auprc_gain_pp', 'fpr95_entmax', 'mean_f1_entmax',
        'fp_reduction_pct', 'fn_reduction_pct', 'miou_loss_pp', 'miou_baseline', 'miou_entmax', 'declaration_cost_pp',
        'common_threshold', 'fp_baseline', 'fn_baseline', 'fp_entmax_meta', 'fn_entmax_meta', 'seeds']


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    d = tmp_path_factory.mktemp('paper_data')
    write_cityscapes_fixture(d/'cityscapes', n_per_split=4, size=(48, 96), seed=1)
    for split, seed in (('train2017', 2), ('val2017', 3)): write_coco_fixture(d/'coco', split, n_images=6, seed=seed)
    write_smiyc_fixture(d/'smiyc', 'anomaly', n_val=3, n_test=1, size=(48, 96), seed=4)
    torch.manual_seed(0)
    net = deeplabv3('mobilenet_v3_large')
    for m in net.modules():   # BatchNorm statistics of real inputs, else a random net's activations vanish in eval mode
        if isinstance(m, nn.BatchNorm2d): m.reset_running_stats(); m.momentum = None
    with torch.no_grad(): net.train()(torch.rand(4, 3, 48, 96))
    torch.save(net.state_dict(), d/'deeplabv3.pt')
    return d


def _args(d, **drop):
    params = dict(cityscapes_root=d/'cityscapes', coco_root=d/'coco', eval_root=d/'smiyc', weights=d/'deeplabv3.pt',
                  backbone='mobilenet_v3_large', crop=32, max_images=4, batch_size=2, num_workers=0)
    out = []
    for k, v in params.items():
        if k not in drop: out += ['-p', k, str(v)]
    return out


def test_paper_profile_runs_end_to_end(roots, tmp_path):
    reports = tmp_path/'reports'
    r = uqnb('run', 'anomaly', '--profile', 'paper', *_args(roots), env={'UQNB_REPORTS': str(reports)})
    assert r.returncode == 0, r.stderr[-3000:]
    out = reports/'anomaly'/'paper'
    for f in ('fig1.png', 'fig1.svg', 'fig2.png', 'table1.csv', 'table2.csv', 'table3.csv', 'table4.csv', 'anomaly.ipynb', 'manifest.json'):
        assert (out/f).stat().st_size > 0, f
    metrics = json.loads((out/'metrics.json').read_text())
    for k in KEYS:
        v = metrics[k]
        if k.endswith('_reduction_pct') and isinstance(v, str): assert v.startswith('undefined: '), v   # a reduction from 0
        else: assert isinstance(v, (int, float)) and math.isfinite(v), (k, v)
    assert metrics['seeds'] == 1
    assert metrics['common_threshold'] in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    assert metrics['miou_loss_pp'] == pytest.approx(metrics['miou_baseline'] - metrics['miou_entmax'])
    assert metrics['auprc_gain_p'].startswith('undefined: one seed')        # one seed: no p-value, said so
    assert not any(k.startswith('retrieval_') for k in metrics)             # the evaluation sets have no object kinds
    table3 = (out/'table3.csv').read_text()
    assert table3.count(str(metrics['common_threshold'])) >= 4              # the four combinations at one threshold
    man = json.loads((out/'manifest.json').read_text())
    assert man['profile'] == 'paper' and man['parameters']['backbone'] == 'mobilenet_v3_large'
    assert 'mahalanobis' in (out/'table1.csv').read_text()


def test_paper_profile_names_a_missing_parameter(roots, tmp_path):
    missing = 'cityscapes_root'   # the same check covers coco_root, eval_root and weights (each run starts a kernel: ~15 s)
    r = uqnb('run', 'anomaly', '--profile', 'paper', *_args(roots, **{missing: True}), env={'UQNB_REPORTS': str(tmp_path)})
    assert r.returncode == 1
    assert f'the paper profile needs the parameter {missing}' in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'anomaly').exists()


def test_paper_profile_names_a_root_that_does_not_exist(roots, tmp_path):
    r = uqnb('run', 'anomaly', '--profile', 'paper', *_args(roots, eval_root=True), '-p', 'eval_root', str(tmp_path/'nowhere'),
             env={'UQNB_REPORTS': str(tmp_path)})
    assert r.returncode == 1 and 'parameter eval_root: folder not found' in r.stderr, r.stderr[-2000:]


def test_paper_profile_trains_on_two_processes(roots, tmp_path):
    "`-p processes 2`: the baseline fine-tuning and entropy maximisation run data-parallel (torchrun, gloo), with the paper's"
    " data set objects (Cityscapes with FlipCrop, PasteObjects over COCO) sent to the processes."
    reports = tmp_path/'reports'
    r = uqnb('run', 'anomaly', '--profile', 'paper', *_args(roots), '-p', 'processes', '2', env={'UQNB_REPORTS': str(reports)})
    assert r.returncode == 0, r.stderr[-3000:]
    out = reports/'anomaly'/'paper'
    assert json.loads((out/'manifest.json').read_text())['processes'] == 2
    launched = (out/'anomaly.ipynb').read_text().count('train_segmentation ran on 2 processes (torchrun)')
    assert launched >= 1, 'no training ran on two processes'
    metrics = json.loads((out/'metrics.json').read_text())
    assert all(isinstance(metrics[k], (int, float)) and math.isfinite(metrics[k]) for k in ('auprc_entmax', 'miou_entmax'))
