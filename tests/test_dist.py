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


# --- the library's trainings: `processes=2` (torchrun, 2 gloo processes) against `processes=1`, same global batch ---------------
import copy
import pytest
import torch
from torch import nn


@pytest.fixture
def one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)   # the workers run one thread each (torchrun's OMP_NUM_THREADS=1)
    yield
    torch.set_num_threads(n)


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def test_train_segmentation_on_two_processes_matches_one(one_thread):
    from uqnb.data.scenes import SceneDataset, VOID_ID
    from uqnb.seg.models import SmallSegNet, train_segmentation
    def no_bn(m):   # SyncBatchNorm has no CPU kernel: without batch norm the two runs must agree (see uqnb.dist)
        for name, ch in m.named_children():
            setattr(m, name, nn.Identity()) if isinstance(ch, nn.BatchNorm2d) else no_bn(ch)
        return m
    torch.manual_seed(0)
    ds = SceneDataset(11, 'sim', seed=0, size=(32, 64))   # 11 = 4 + 4 + 3: the last batch splits 1 + 2
    net = no_bn(SmallSegNet(num_classes=10, width=4, dropout=0.0))   # ids >= 10 are void in training
    unlabelled = [int(((ds[i][1] >= 10) | (ds[i][1] == VOID_ID)).sum()) for i in range(len(ds))]
    assert len(set(unlabelled)) > 1                        # so the shares' labelled pixel counts differ
    a, b = copy.deepcopy(net), copy.deepcopy(net)
    kw = dict(epochs=2, batch_size=4, progress=False, device='cpu')
    ha = train_segmentation(a, ds, processes=1, **kw)
    hb = train_segmentation(b, ds, processes=2, **kw)
    la, lb = np.array([h['loss'] for h in ha]), np.array([h['loss'] for h in hb])
    print(f"segmentation: |loss difference| {np.abs(la - lb).max():.2e}, |weight difference| {_max_diff(a.state_dict(), b.state_dict()):.2e}")
    np.testing.assert_allclose(lb, la, atol=TOL, rtol=0)
    assert _max_diff(a.state_dict(), b.state_dict()) < TOL
    assert not torch.equal(a.head.weight, net.head.weight)   # it trained


def test_train_detector_on_two_processes_matches_one(one_thread):
    from uqnb.data.glyphs import GlyphSandbox
    from uqnb.detect.model import build_retinanet, train_detector
    ds = GlyphSandbox('digits', 'train', n_images=10, image_size=64, seed=0)
    torch.manual_seed(0)
    net = build_retinanet(10, 64, 'narrow'); net.backbone.body.requires_grad_(False)   # frozen body: its batch norm is fixed
    a, b = copy.deepcopy(net), copy.deepcopy(net)
    kw = dict(iterations=5, lr=0.01, batch_size=3, warmup=2, progress=False, device='cpu')   # batches of 3 split 1 + 2
    ha = train_detector(a, ds, processes=1, **kw)
    hb = train_detector(b, ds, processes=2, **kw)
    for key in ('loss', 'classification', 'bbox_regression'):
        np.testing.assert_allclose([h[key] for h in hb], [h[key] for h in ha], atol=TOL, rtol=0)
    print(f"detector: |weight difference| {_max_diff(a.state_dict(), b.state_dict()):.2e}")
    assert _max_diff(a.state_dict(), b.state_dict()) < TOL
    assert not torch.equal(a.head.classification_head.cls_logits.weight, net.head.classification_head.cls_logits.weight)


def test_train_cyclegan_on_two_processes_matches_one(one_thread):
    from uqnb.data.scenes import SceneDataset
    from uqnb.seg.models import SmallSegNet
    from uqnb.gan.training import CycleGAN, CycleGANTrainer, GANConfig, train_cyclegan
    real, sim = SceneDataset(6, 'real', seed=1, size=(32, 64)), SceneDataset(6, 'sim', seed=2, size=(32, 64))
    def fresh():   # built, not deep-copied: a copied optimiser loses the scheduler's hook on its step (a torch warning)
        torch.manual_seed(0)
        return CycleGANTrainer(CycleGAN(GANConfig(ngf=4, ndf=4, n_blocks=1, pool_size=0), seed=0), 4, seed=0,
                               expert=SmallSegNet(num_classes=19, width=4), task_weight=1.0)
    trainer, a, b = fresh(), fresh(), fresh()
    assert _max_diff(a.gan.state_dict(), b.gan.state_dict()) == 0
    kw = dict(batch_size=2, seed=0, labelled=torch.utils.data.Subset(real, [0, 1, 2]), labelled_batch=2, crop=(32, 32),
              progress=False, device='cpu')
    ha = train_cyclegan(a, real, sim, processes=1, **kw)
    hb = train_cyclegan(b, real, sim, processes=2, **kw)
    assert b.it == 4 and len(hb) == 4                # the trainer's state came back from rank 0
    for key in ('G', 'task', 'cycle_real', 'D_sim', 'D_real'):
        np.testing.assert_allclose([h[key] for h in hb], [h[key] for h in ha], atol=TOL, rtol=0)
    # The networks compute the same function. Their weights agree too, except the biases of convolutions followed by
    # instance norm: the norm cancels them, so their true gradient is 0 and Adam turns float noise into steps of size lr.
    x = torch.stack([real[i][0] for i in range(3)]) * 2 - 1
    with torch.no_grad():
        for net in ('G_rs', 'G_sr', 'D_sim', 'D_real'):
            ya, yb = getattr(a.gan, net)(x), getattr(b.gan, net)(x)
            assert (ya - yb).abs().max() < TOL, net
    cancelled = {f"{n}.{k}.bias" for n, m in a.gan.named_modules() if isinstance(m, nn.Sequential)
                 for (k, conv), (_, norm) in zip(m.named_children(), list(m.named_children())[1:])
                 if isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(norm, nn.InstanceNorm2d)}
    assert len(cancelled) >= 8
    sa, sb = a.gan.state_dict(), b.gan.state_dict()
    assert _max_diff({k: v for k, v in sa.items() if k not in cancelled}, {k: v for k, v in sb.items() if k not in cancelled}) < TOL
    assert _max_diff(a.gan.state_dict(), trainer.gan.state_dict()) > 1e-4   # it trained


def test_uneven_or_unpicklable_calls_fail_before_training(tmp_path):
    from uqnb.data.scenes import SceneDataset
    from uqnb.detect.model import build_retinanet, train_detector
    from uqnb.gan.pipeline import DomainAdaptation
    real = SceneDataset(4, 'real', seed=1, size=(32, 64))
    with pytest.raises(ValueError, match='cannot be sent to other processes'):   # a lambda does not pickle: refused in this process
        train_detector(build_retinanet(10, 64, 'narrow'), real, iterations=1, callback=lambda *a: None, processes=2)
    with pytest.raises(ValueError, match=r"gan_batch=1, labelled_batch=1 cannot be split evenly over 2 processes"):
        os.environ['UQNB_PROCESSES'] = '2'
        try: DomainAdaptation(real, real, real, dict(ngf=4, ndf=4, n_blocks=1), tmp_path/'da').check()
        finally: os.environ.pop('UQNB_PROCESSES')
    # a data set class defined in a script (__main__): the workers could not unpickle it, so nothing is launched
    script = tmp_path/'mine.py'
    script.write_text("import torch\nfrom uqnb.data.scenes import SceneDataset\nfrom uqnb.seg.models import SmallSegNet, train_segmentation\n"
                      "class Mine(torch.utils.data.Dataset):\n    def __init__(self, ds): self.ds = ds\n"
                      "    def __len__(self): return len(self.ds)\n    def __getitem__(self, i): return self.ds[i]\n"
                      "train_segmentation(SmallSegNet(width=4), Mine(SceneDataset(4, 'sim', size=(32, 64))), epochs=1, batch_size=2, processes=2)\n")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and 'use Mine, defined in the notebook or script (__main__)' in r.stderr, r.stderr[-2000:]
    assert 'torchrun' not in r.stderr and '[uqnb.dist]' not in r.stderr   # refused before any process started
