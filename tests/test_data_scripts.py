"The data_scripts/ command-line tools, run as subprocesses on fixtures written by uqnb.data.formats."
import contextlib, importlib.util, io, json, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from uqnb.data import formats as F

SCRIPTS = Path(__file__).resolve().parents[1]/'data_scripts'


def run(script: str, *args, sub: bool = False) -> subprocess.CompletedProcess:
    """Run `script` with `args`: as a subprocess of this Python (`sub=True`, what a user does), or, to keep the
    suite fast on a small CPU, by calling its `main(argv)` in this process with stdout/stderr captured."""
    argv = [str(a) for a in args]
    if sub:
        return subprocess.run([sys.executable, str(SCRIPTS/script), *argv], capture_output=True, text=True, timeout=300)
    spec = importlib.util.spec_from_file_location(f"_script_{script[:-3]}", SCRIPTS/script)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: rc = mod.main(argv)
        except SystemExit as e: rc = e.code
    return subprocess.CompletedProcess([script, *argv], rc, out.getvalue(), err.getvalue())


# ---------------------------------------------------------------- prepare_cityscapes.py
@pytest.fixture
def cityscapes(tmp_path):
    root = tmp_path/'cityscapes'
    F.write_cityscapes_fixture(root, n_per_split=3, size=(8, 12), splits=('train', 'val'))
    return root


def test_prepare_cityscapes_reports_counts(cityscapes):
    r = run('prepare_cityscapes.py', cityscapes, '--check-pixels', sub=True)
    assert r.returncode == 0, r.stderr
    assert 'train: 3 image/label pairs in 2 cities (aachen 2, bochum 1)' in r.stdout
    assert 'val: 3 image/label pairs in 2 cities' in r.stdout


def test_prepare_cityscapes_downscaled_copy(cityscapes, tmp_path):
    out = tmp_path/'half'
    r = run('prepare_cityscapes.py', cityscapes, '--out', out, '--scale', '0.5')
    assert r.returncode == 0, r.stderr
    small, full = F.CityscapesSegmentation(out, 'val'), F.CityscapesSegmentation(cityscapes, 'val')
    assert len(small) == 3
    img, lbl = small[1]
    assert tuple(img.shape) == (3, 4, 6)
    raw = np.asarray(Image.open(full.files[1][1]))
    # nearest neighbour at half size takes the pixel whose centre is nearest: rows/cols 1, 3, 5, ...
    expected = F.cityscapes_label_to_trainid(raw[1::2, 1::2])
    np.testing.assert_array_equal(lbl.numpy(), expected)
    assert [p.relative_to(out) for p, _ in small.files] == [p.relative_to(cityscapes) for p, _ in full.files]


def test_prepare_cityscapes_problems(cityscapes, tmp_path):
    r = run('prepare_cityscapes.py', tmp_path/'nowhere')
    assert r.returncode == 1 and 'Cityscapes root not found' in r.stderr and 'nowhere' in r.stderr
    r = run('prepare_cityscapes.py', cityscapes, '--splits', 'train', 'test')
    assert r.returncode == 1 and str(Path('leftImg8bit')/'test') in r.stderr
    lbl = cityscapes/'gtFine/train/bochum/bochum_000001_000020_gtFine_labelIds.png'
    lbl.unlink()
    r = run('prepare_cityscapes.py', cityscapes, '--splits', 'train', sub=True)
    assert r.returncode == 1 and 'bochum_000001_000020_gtFine_labelIds.png' in r.stderr


def test_prepare_cityscapes_bad_pixels(cityscapes):
    lbl = cityscapes/'gtFine/val/lindau/lindau_000001_000020_gtFine_labelIds.png'
    Image.fromarray(np.full((8, 12), 50, np.uint8)).save(lbl)
    assert run('prepare_cityscapes.py', cityscapes).returncode == 0           # layout only: not noticed
    r = run('prepare_cityscapes.py', cityscapes, '--check-pixels')
    assert r.returncode == 1 and 'lindau_000001_000020_gtFine_labelIds.png' in r.stderr and '[50]' in r.stderr
    img = cityscapes/'leftImg8bit/val/frankfurt/frankfurt_000000_000019_leftImg8bit.png'
    img.write_bytes(b'not a png')
    r = run('prepare_cityscapes.py', cityscapes, '--check-pixels', '--splits', 'val')
    assert r.returncode == 1 and 'frankfurt_000000_000019_leftImg8bit.png' in r.stderr


# ---------------------------------------------------------------- prepare_coco_ood.py
@pytest.fixture
def coco(tmp_path):
    root = tmp_path/'coco'
    data = F.write_coco_fixture(root, 'val2017', n_images=6)
    return root, data


def test_prepare_coco_ood(coco, tmp_path):
    root, data = coco
    out = tmp_path/'ood'
    r = run('prepare_coco_ood.py', root, '--split', 'val2017', '--out', out, '--copy-images', sub=True)
    assert r.returncode == 0, r.stderr
    assert '6 images, 2 with street classes, 1 without objects; selected 3 OoD proxy images' in r.stdout
    listing = json.loads((out/'coco_ood.json').read_text())
    assert [e['image_id'] for e in listing['images']] == [data['images'][k]['id'] for k in (1, 4, 5)]
    ds = F.CocoOoD(root, 'val2017')
    for k, e in enumerate(listing['images']):
        mask = np.asarray(Image.open(out/e['mask']))
        np.testing.assert_array_equal(mask, ds[k][1].numpy())
        assert set(np.unique(mask)) == {254, 255}
        assert (out/e['image']).read_bytes() == (root/'val2017'/e['file_name']).read_bytes()
    assert (out/'coco_ood.txt').read_text().splitlines() == [e['image'] for e in listing['images']]


def test_prepare_coco_ood_min_size_and_limit(coco, tmp_path):
    root, _ = coco
    r = run('prepare_coco_ood.py', root, '--split', 'val2017', '--out', tmp_path/'a', '--min-size', '45')
    assert r.returncode == 0 and 'selected 0 OoD proxy images' in r.stdout
    r = run('prepare_coco_ood.py', root, '--split', 'val2017', '--out', tmp_path/'b', '--limit', '1')
    assert r.returncode == 0 and len(json.loads((tmp_path/'b/coco_ood.json').read_text())['images']) == 1


def test_prepare_coco_ood_problems(coco, tmp_path):
    root, data = coco
    r = run('prepare_coco_ood.py', root, '--split', 'train2017', '--out', tmp_path/'o')
    assert r.returncode == 1 and 'instances_train2017.json' in r.stderr
    (root/'val2017'/data['images'][4]['file_name']).unlink()
    r = run('prepare_coco_ood.py', root, '--split', 'val2017', '--out', tmp_path/'o')
    assert r.returncode == 1 and data['images'][4]['file_name'] in r.stderr
    assert not (tmp_path/'o'/'coco_ood.json').exists()


# ---------------------------------------------------------------- check_datasets.py
@pytest.fixture
def data_root(tmp_path):
    d = tmp_path/'data'
    F.write_cityscapes_fixture(d/'cityscapes', n_per_split=2, size=(8, 12))
    F.write_coco_fixture(d/'coco', 'val2017', n_images=3)
    F.write_fishyscapes_fixture(d/'fishyscapes', n=2, size=(8, 12))
    F.write_smiyc_fixture(d/'smiyc', 'anomaly', n_val=2, n_test=1, size=(8, 12))
    F.write_smiyc_fixture(d/'smiyc', 'obstacle', n_val=2, n_test=1, size=(8, 12), ext='.webp')
    F.write_synthia_fixture(d/'synthia', n=2, size=(8, 12))
    F.write_carla_fixture(d/'carla', 'train', n=2, size=(8, 12))
    F.write_mnist_fixture(d/'mnist', n_train=3, n_test=2)
    F.write_emnist_fixture(d/'emnist', n_train=3, n_test=2)
    F.write_cifar10_fixture(d/'cifar10', n_per_batch=2)
    return d


def test_check_datasets_all_found(data_root):
    r = run('check_datasets.py', '--data-root', data_root, '--read', '2', sub=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '10 of 10 data set(s) complete' in r.stdout
    for part in ('cityscapes train', 'coco', 'fishyscapes Static', 'road_anomaly21 val', 'road_obstacle21 val',
                 'synthia all', 'carla', 'mnist test', 'emnist letters train', 'cifar10 test'):
        assert any(line.startswith('OK') and part in line for line in r.stdout.splitlines()), part


def test_check_datasets_missing_and_broken(data_root):
    (data_root/'mnist'/'t10k-labels-idx1-ubyte.gz').unlink()
    (data_root/'cifar10'/'cifar-10-batches-py'/'data_batch_2').write_bytes(b'garbage')
    import shutil; shutil.rmtree(data_root/'synthia')
    r = run('check_datasets.py', '--data-root', data_root, sub=True)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert any(l.startswith('MISSING') and 't10k-labels-idx1-ubyte' in l for l in lines)
    assert any(l.startswith('BROKEN') and 'data_batch_2' in l for l in lines)
    assert any(l.startswith('MISSING') and 'synthia' in l for l in lines)
    assert '7 of 10 data set(s) complete' in r.stdout


def test_check_datasets_single_and_usage(data_root, tmp_path):
    r = run('check_datasets.py', '--cityscapes', data_root/'cityscapes', '--emnist', data_root/'emnist')
    assert r.returncode == 0 and '2 of 2 data set(s) complete' in r.stdout
    r = run('check_datasets.py', '--road-anomaly21', tmp_path/'empty_smiyc')
    assert r.returncode == 1 and 'MISSING' in r.stdout
    r = run('check_datasets.py')
    assert r.returncode == 2 and 'name at least one data set' in r.stderr
