"""Experiment `domain_adaptation`: the `paper` profile end to end on the CPU through the CLI, on tiny fixtures in the real
formats (Cityscapes as the real domain, Synthia-Rand-Cityscapes as sim, reference widths, a DeepLabV3 expert); a run killed
mid-way resumes to the same metrics.json; bad input fails with an error naming the parameter or file, before any training."""
import json, os, signal, subprocess, time

import numpy as np
import pytest
import torch

from conftest import uqnb, ROOT, BIN, kill_when
from uqnb.data.formats import write_cityscapes_fixture, write_synthia_fixture

KEYS = ['miou_source_only', 'miou_cyclegan', 'seeds', 'crossover_fraction']
PER_PCT = ['miou_ours_{}', 'miou_supervised_{}', 'miou_ours_uncertain_{}', 'miou_finetuned_expert_{}', 'gap_reduction_pp_{}']


@pytest.fixture(scope='module')
def fixtures(tmp_path_factory):
    d = tmp_path_factory.mktemp('da_data')
    write_cityscapes_fixture(d/'cityscapes', n_per_split=4, size=(32, 64))
    write_synthia_fixture(d/'synthia', n=4, size=(40, 64))
    return d


TINY = ['-p', 'n_seeds', '1', '-p', 'fractions', '[0.25,0.5]', '-p', 'expert_iterations', '1', '-p', 'gan_iterations', '2',
        '-p', 'ft_iterations', '2', '-p', 'sup_iterations', '1', '-p', 'crop', '24x32']


def test_paper_profile_runs_end_to_end(fixtures, tmp_path):
    reports = tmp_path/'reports'
    r = uqnb('run', 'domain_adaptation', '--profile', 'paper', '-p', 'cityscapes_root', str(fixtures/'cityscapes'),
             '-p', 'sim_dataset', 'synthia', '-p', 'sim_root', str(fixtures/'synthia'), *TINY, env={'UQNB_REPORTS': str(reports)})
    assert r.returncode == 0, r.stderr[-3000:]
    out = reports/'domain_adaptation'/'paper'
    for f in ('fig3.png', 'fig3.svg', 'fig4.png', 'table1.csv', 'table2.csv', 'domain_adaptation.html', 'manifest.json'):
        assert (out/f).stat().st_size > 0, f
    m = json.loads((out/'metrics.json').read_text())
    for k in KEYS + [p.format(pct) for p in PER_PCT for pct in ('25', '50')]: assert k in m, k
    assert m['seeds'] == 1 and m['labelled_images_25'] == 1 and m['labelled_images_50'] == 2
    assert all(0 <= m[k] <= 1 for k in m if k.startswith('miou_'))
    nb = (out/'domain_adaptation.ipynb').read_text()
    assert '11378179' in nb   # the reference widths were used (the parameter-count table)
    man = json.loads((out/'manifest.json').read_text())
    assert man['profile'] == 'paper' and man['parameters']['sim_root'] == str(fixtures/'synthia')


SMOKE = ['run', 'domain_adaptation', '--profile', 'smoke', '-p', 'n_seeds', '1', '-p', 'fractions', '[0.1,0.5]']


def test_killed_run_resumes_to_the_same_numbers(tmp_path):
    ref = uqnb(*SMOKE, env={'UQNB_REPORTS': str(tmp_path/'ref')})
    assert ref.returncode == 0, ref.stderr[-3000:]
    reports = tmp_path/'killed'
    ckpt = reports/'_checkpoints'/'domain_adaptation'
    # kill once the pre-training is done and the first runs have finished, mid-way through the runs
    kill_when(SMOKE, reports, lambda: ckpt.exists() and any(ckpt.rglob('results/ours_*.json')))
    assert not (reports/'domain_adaptation'/'smoke').exists()
    assert len(list(ckpt.rglob('results/*.json'))) < 8, 'killed too late: every run had finished'
    again = uqnb(*SMOKE, env={'UQNB_REPORTS': str(reports)})
    assert again.returncode == 0, again.stderr[-3000:]
    a = json.loads((reports/'domain_adaptation'/'smoke'/'metrics.json').read_text())
    b = json.loads((tmp_path/'ref'/'domain_adaptation'/'smoke'/'metrics.json').read_text())
    drop = lambda m: {k: v for k, v in m.items() if 'seconds' not in k}
    assert drop(a) == drop(b)


@pytest.mark.parametrize('params, message', [
    (['-p', 'fractions', '[0,0.1]'], 'parameter fractions: each label fraction must be in (0, 1], got 0'),
    (['-p', 'fractions', '[0.01]'], 'parameter fractions: fraction 0.01 of the 20 real training images gives 0 labelled images'),
    (['-p', 'image_size', '30x64'], '30x64 (HxW) cannot go through the generator'),
    (['-p', 'num_classes', '10'], "are outside the expert's classes 0..9"),
    (['--profile', 'paper'], 'the paper profile needs the parameter cityscapes_root'),
])
def test_bad_parameters_fail_clearly(params, message, tmp_path):
    args = ['run', 'domain_adaptation'] + (params if params[0] == '--profile' else ['--profile', 'smoke', *params])
    r = uqnb(*args, env={'UQNB_REPORTS': str(tmp_path)})
    assert r.returncode == 1 and message in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'domain_adaptation').exists()
    assert not list((tmp_path/'_checkpoints').rglob('*.pt')), 'something was trained before the error'


def test_expert_checkpoint_with_another_class_count_fails(tmp_path):
    from uqnb.seg.models import SmallSegNet
    w = tmp_path/'expert5.pt'
    torch.save(SmallSegNet(num_classes=5, width=4).state_dict(), w)
    r = uqnb('run', 'domain_adaptation', '--profile', 'smoke', '-p', 'expert_weights', str(w), env={'UQNB_REPORTS': str(tmp_path)})
    assert r.returncode == 1 and f'the expert in {w} has 5 classes, but the data sets use 19' in r.stderr, r.stderr[-2000:]


def test_paper_image_sizes_the_generator_cannot_take(fixtures, tmp_path):
    odd = tmp_path/'cs_odd'
    files = write_cityscapes_fixture(odd, n_per_split=4, size=(30, 64))
    r = uqnb('run', 'domain_adaptation', '--profile', 'paper', '-p', 'cityscapes_root', str(odd), '-p', 'sim_root', str(fixtures/'synthia'),
             *TINY, env={'UQNB_REPORTS': str(tmp_path)})
    assert r.returncode == 1, r.stderr[-2000:]
    assert 'is smaller than the parameter crop 24x32' not in r.stderr
    assert f"file {files['train'][0][0]}" in r.stderr or f"file {files['val'][0][0]}" in r.stderr, r.stderr[-2000:]
    assert 'cannot go through the generator' in r.stderr, r.stderr[-2000:]


def test_domains_with_different_channel_counts_fail_before_training(tmp_path):
    from uqnb.data.scenes import SceneDataset
    from uqnb.gan.pipeline import DomainAdaptation
    from uqnb.data.wrappers import CachedDataset
    real = CachedDataset(SceneDataset(4, 'real', size=(32, 64)))
    gray = torch.utils.data.TensorDataset(torch.zeros(4, 1, 32, 64), torch.zeros(4, 32, 64, dtype=torch.long))
    p = DomainAdaptation(real, gray, real, {}, tmp_path/'da')
    with pytest.raises(ValueError, match='the domains have different channel counts: real training: 3, sim: 1'):
        p.check()
    assert not list((tmp_path/'da').rglob('*.pt'))
