"""The glyph sandbox CLI (data_scripts/make_glyph_sandbox.py) on tiny counts: files, COCO loading, boxes, errors."""
import contextlib, io, json, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT/'data_scripts'/'make_glyph_sandbox.py'


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args), '--quiet'], capture_output=True, text=True, cwd=ROOT, timeout=300)


def load(ann):
    from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(ann))


def test_embedded_letters(tmp_path):
    from uqnb.data.glyphs import GlyphSandbox, LETTER_NAMES
    out = tmp_path/'sb'
    r = run('--embedded', 'letters', '--out', out, '--size', 64, '--n-train', 6, '--n-val', 3, '--n-test', 4, '--seed', 3)
    assert r.returncode == 0, r.stderr
    for split, n in [('train', 6), ('val', 3), ('test', 4)]:
        c = load(out/split/'annotations.json')
        assert sorted(c.getImgIds()) == list(range(n))
        assert [c.cats[k]['name'] for k in sorted(c.cats)] == LETTER_NAMES
        assert len(list((out/split/'images').glob('*.png'))) == n
        ds = GlyphSandbox('letters', split, n_images=n, image_size=64, seed=3)
        for i in range(n):
            s = ds.sample(i)
            png = np.asarray(Image.open(out/split/'images'/c.imgs[i]['file_name']))
            assert png.shape == (64, 64, 3) and png.tobytes() == s['image'].tobytes()
            anns = c.loadAnns(c.getAnnIds(imgIds=[i]))
            xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)]).reshape(-1, 4)
            np.testing.assert_allclose(xyxy, s['boxes'])
            assert [a['category_id'] - 1 for a in anns] == s['labels'].tolist()
            assert all(a['iscrowd'] == 0 and a['area'] > 0 for a in anns)
    settings = json.loads((out/'sandbox.json').read_text())
    assert settings['settings']['n_train'] == 6 and settings['style']['scale'] == [0.15, 0.4]
    # a second run without --overwrite is refused; with it, the same seed gives the same bytes
    r2 = run('--embedded', 'letters', '--out', out, '--size', 64, '--n-train', 6, '--n-val', 3, '--n-test', 4, '--seed', 3)
    assert r2.returncode == 2 and 'exists and is not empty' in r2.stderr
    before = (out/'val'/'annotations.json').read_bytes()
    r3 = run('--embedded', 'letters', '--out', out, '--size', 64, '--n-train', 6, '--n-val', 3, '--n-test', 4, '--seed', 3, '--overwrite')
    assert r3.returncode == 0, r3.stderr
    assert (out/'val'/'annotations.json').read_bytes() == before


def test_embedded_digits_on_coco_folder(tmp_path):
    coco = tmp_path/'coco'/'val2017'; coco.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(10):
        Image.fromarray(rng.integers(0, 256, (50 + k, 70, 3), dtype=np.uint8)).save(coco/f'{k:012d}.jpg')
    out = tmp_path/'sb'
    r = run('--embedded', 'digits', '--coco-root', tmp_path/'coco', '--coco-split', 'val2017', '--out', out,
            '--size', 48, '--n-train', 5, '--n-val', 2, '--n-test', 2, '--workers', 0)
    assert r.returncode == 0, r.stderr
    info = json.loads((out/'sandbox.json').read_text())['splits']
    assert [info[s]['background_regions'] for s in ('train', 'val', 'test')] == [8, 1, 1]   # COCO images split 80/10/10
    c = load(out/'train'/'annotations.json')
    assert [c.cats[k]['name'] for k in sorted(c.cats)] == [str(i) for i in range(10)]
    for a in c.dataset['annotations']:
        x, y, w, h = a['bbox']
        assert 0 <= x and 0 <= y and x + w <= 48 and y + h <= 48


def test_mnist_on_coco(tmp_path):
    from uqnb.data import formats  # the project's own fixture writer: missing is a failure, never a skip
    formats.write_mnist_fixture(tmp_path/'mnist', n_train=40, n_test=10)
    coco = tmp_path/'coco'/'train2017'; coco.mkdir(parents=True)
    for k in range(10):
        Image.fromarray(np.full((60, 80, 3), 20 * k, np.uint8)).save(coco/f'{k:012d}.jpg')
    out = tmp_path/'sb'
    r = run('--mnist-root', tmp_path/'mnist', '--coco-root', tmp_path/'coco', '--out', out,
            '--size', 64, '--n-train', 4, '--n-val', 2, '--n-test', 3)
    assert r.returncode == 0, r.stderr
    info = json.loads((out/'sandbox.json').read_text())['splits']
    assert [info[s]['glyphs'] for s in ('train', 'val', 'test')] == [36, 4, 10]   # train/val from MNIST train, test from MNIST test
    assert len(load(out/'test'/'annotations.json').getImgIds()) == 3


@pytest.mark.parametrize('args, message', [
    (['--mnist-root', '/nonexistent/mnist', '--coco-root', '.'], '--mnist-root: no such folder: /nonexistent/mnist'),
    (['--emnist-root', '.'], '--coco-root is required'),
    (['--embedded', 'digits', '--coco-root', '.', '--coco-split', 'nope2017'], 'no such folder: nope2017'),
    (['--embedded', 'kanji'], "invalid choice: 'kanji'"),
    (['--embedded', 'digits', '--size', '0'], '--size must be positive'),
    (['--embedded', 'digits', '--n-val', '-1'], '--n-val must be non-negative'),
])
def test_bad_arguments(tmp_path, args, message):
    r = run(*args, '--out', tmp_path/'o')
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not (tmp_path/'o').exists()
