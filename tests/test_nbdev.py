"""The notebooks are the source of truth: they are clean, and the library is exactly what they export."""
import shutil, subprocess, sys
from pathlib import Path

from conftest import ROOT, BIN


def _scratch(tmp_path):
    repo = tmp_path/'repo'
    repo.mkdir()
    for f in ('settings.ini', 'setup.py', 'pyproject.toml'): shutil.copy(ROOT/f, repo/f)
    for d in ('nbs', 'uqnb'): shutil.copytree(ROOT/d, repo/d, ignore=shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints'))
    return repo


def _diff(a: Path, b: Path):
    r = subprocess.run(['diff', '-rq', '--exclude=__pycache__', '--exclude=.ipynb_checkpoints', str(a), str(b)],
                       capture_output=True, text=True)
    return r.stdout.strip()


def test_notebooks_are_clean(tmp_path):
    repo = _scratch(tmp_path)
    for target in ('nbs', 'nbs/experiments'):
        r = subprocess.run([str(BIN/'nbdev_clean'), '--fname', target], cwd=repo, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert _diff(ROOT/'nbs', repo/'nbs') == '', 'run `nbdev_clean` (and on nbs/experiments) and commit the result'


def test_library_is_exported_from_notebooks(tmp_path):
    repo = _scratch(tmp_path)
    r = subprocess.run([str(BIN/'nbdev_export')], cwd=repo, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert _diff(ROOT/'uqnb', repo/'uqnb') == '', 'uqnb/ differs from what the notebooks export: edit nbs/, run `nbdev_export`'


def test_experiment_notebooks_keep_their_parameters_tag():
    import nbformat
    for p in sorted((ROOT/'nbs'/'experiments').glob('*.ipynb')):
        nb = nbformat.read(p, as_version=4)
        tagged = [c for c in nb.cells if 'parameters' in c.metadata.get('tags', [])]
        assert len(tagged) == 1, p.name
        assert nb.metadata['kernelspec']['name'] == 'python3', p.name
