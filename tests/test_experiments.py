"""Every experiment notebook runs end to end at the `smoke` profile through the runner."""
import json, os
from pathlib import Path

import pytest

from conftest import uqnb, ROOT

os.environ.setdefault('UQNB_ROOT', str(ROOT))
from uqnb.batch import list_experiments  # noqa: E402

EXPERIMENTS = [e.name for e in list_experiments()]
MANIFEST_KEYS = {'experiment', 'profile', 'parameters', 'seed', 'device', 'git', 'packages', 'host',
                 'start', 'end', 'wall_seconds'}


@pytest.fixture(scope='module')
def smoke_reports(tmp_path_factory):
    return tmp_path_factory.mktemp('reports')


@pytest.mark.parametrize('name', EXPERIMENTS)
def test_smoke_run_writes_every_output(name, smoke_reports):
    r = uqnb('run', name, '--profile', 'smoke', env={'UQNB_REPORTS': str(smoke_reports)})
    assert r.returncode == 0, r.stderr[-3000:]
    out = smoke_reports/name/'smoke'
    assert Path(r.stdout.strip()) == out
    exp = next(e for e in list_experiments() if e.name == name)
    for o in exp.outputs:
        exts = ('png', 'svg') if o.startswith('fig') else ('csv', 'md')
        for ext in exts: assert (out/f'{o}.{ext}').stat().st_size > 0, f'{o}.{ext}'
    for f in (f'{name}.ipynb', f'{name}.html', 'manifest.json', 'metrics.json'): assert (out/f).exists(), f
    man = json.loads((out/'manifest.json').read_text())
    assert MANIFEST_KEYS <= set(man) and man['profile'] == 'smoke' and man['experiment'] == name
    assert man['git']['commit'] is None or len(man['git']['commit']) == 40
    assert man['packages']['torch'].startswith('2.14.1')
    metrics = json.loads((out/'metrics.json').read_text())
    assert metrics and all(isinstance(v, (int, float, str, bool)) for v in metrics.values())
    assert '<html' in (out/f'{name}.html').read_text()[:2000].lower()
    # smoke reports are not committed (git ignores reports/*/smoke/): the tracked index is left alone
    assert not (smoke_reports/'README.md').exists()


def test_same_seed_same_metrics(tmp_path):
    runs = []
    for i, seed in enumerate([5, 5, 6]):
        reports = tmp_path/f'r{i}'
        r = uqnb('run', 'quickstart', '--profile', 'smoke', '-p', 'seed', str(seed), env={'UQNB_REPORTS': str(reports)})
        assert r.returncode == 0, r.stderr[-2000:]
        runs.append((reports/'quickstart'/'smoke'/'metrics.json').read_text())
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]  # the seed does change the numbers


def test_submit_through_submitit_runs_the_same_code_path(tmp_path):
    from uqnb.sweep import submit
    os.environ['UQNB_REPORTS'] = str(tmp_path/'reports')
    try:
        state = submit('quickstart', 'smoke', {'seed': 1}, executor='local')
    finally:
        del os.environ['UQNB_REPORTS']
    run = tmp_path/'reports'/'quickstart'/'smoke'   # one run, no sweep: the report folder, as `uqnb run` writes it
    assert state['tasks'][0]['dest'] is None and (run/'fig1.png').exists()
    assert json.loads((run/'manifest.json').read_text())['parameters']['seed'] == 1
