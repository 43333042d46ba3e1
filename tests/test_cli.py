"""The runner as a user meets it: `uqnb list`, `uqnb run`, its failure and bad-parameter paths."""
import json, textwrap
from pathlib import Path

import nbformat
import pytest

from conftest import uqnb, snapshot


def test_list_shows_experiments_outputs_and_parameters():
    r = uqnb('list')
    assert r.returncode == 0, r.stderr
    assert 'quickstart: Quickstart' in r.stdout
    assert 'makes fig1:' in r.stdout and 'makes table1:' in r.stdout
    line = next(l for l in r.stdout.splitlines() if l.strip().startswith('epochs'))
    assert 'int' in line and 'None' in line and 'training epochs' in line


@pytest.mark.parametrize('args, message', [
    (['-p', 'no_such_param', '1'], "unknown parameter 'no_such_param' for experiment 'quickstart'"),
    (['-p', 'seed', 'abc'], "parameter 'seed' of experiment 'quickstart' must be int, got str 'abc'"),
    (['-p', 'ood_digits', '7'], "parameter 'ood_digits' of experiment 'quickstart' must be list, got int 7"),
    (['-p', 'profile', 'paper'], 'the profile is chosen with --profile'),
])
def test_bad_parameters_fail_before_any_cell_runs(reports, args, message):
    before = snapshot(reports)
    r = uqnb('run', 'quickstart', '--profile', 'smoke', *args, env={'UQNB_REPORTS': str(reports)})
    assert r.returncode == 1
    assert message in r.stderr
    assert 'Executing' not in r.stderr  # no kernel was started
    assert snapshot(reports) == before  # nothing written, nothing replaced
    assert not (reports/'_failed').exists()


def test_unknown_experiment_and_profile():
    r = uqnb('run', 'no_such_experiment')
    assert r.returncode == 1 and "unknown experiment 'no_such_experiment'; known experiments: " in r.stderr
    r = uqnb('run', 'quickstart', '--profile', 'fast')
    assert r.returncode != 0 and "invalid choice: 'fast'" in r.stderr


def _notebook(path: Path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata['kernelspec'] = {'name': 'python3', 'language': 'python', 'display_name': 'Python 3'}
    for src, tags in cells:
        c = nbformat.v4.new_code_cell(textwrap.dedent(src))
        if tags: c.metadata['tags'] = tags
        nb.cells.append(c)
    nbformat.write(nb, path)


def test_failing_experiment_keeps_old_reports_and_names_the_cell(tmp_path, reports):
    exps = tmp_path/'experiments'; exps.mkdir()
    _notebook(exps/'boom.ipynb', [
        ('profile: str = "default"  # profile\nlimit: float = 1.0  # where it breaks', ['parameters']),
        ("from uqnb.core import Report\nreport = Report('boom')\nreport.metrics(started=1)", None),
        ("x = 2.5\nif x > limit:\n    raise ValueError(f'x={x} is over the limit')", None),
    ])
    old = reports/'boom'/'smoke'; old.mkdir(parents=True); (old/'metrics.json').write_text('{"old": 1}\n')
    before = snapshot(reports)
    env = {'UQNB_REPORTS': str(reports), 'UQNB_EXPERIMENTS': str(exps)}
    r = uqnb('run', 'boom', '--profile', 'smoke', '-p', 'limit', '2', env=env)
    assert r.returncode == 1
    assert "experiment 'boom' (smoke) failed in cell 3 of the executed notebook (x = 2.5): ValueError: x=2.5 is over the limit" in r.stderr
    after = snapshot(reports)
    failed = [k for k in after if k.startswith('_failed/')]
    assert len(failed) == 1 and failed[0].startswith('_failed/boom-smoke-') and failed[0].endswith('.ipynb')
    assert 'x=2.5 is over the limit' in after[failed[0]].decode()
    assert {k: v for k, v in after.items() if not k.startswith('_failed/')} == before
    assert not list(reports.glob('.tmp-*'))
    # with a limit it does not break, the same notebook replaces the old results
    r = uqnb('run', 'boom', '--profile', 'smoke', '-p', 'limit', '3', env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads((old/'metrics.json').read_text()) == {'started': 1}


def test_experiment_that_writes_no_metrics_fails(tmp_path, reports):
    exps = tmp_path/'experiments'; exps.mkdir()
    _notebook(exps/'quiet.ipynb', [('seed: int = 0', ['parameters']), ('print(seed)', None)])
    r = uqnb('run', 'quiet', '--profile', 'smoke', env={'UQNB_REPORTS': str(reports), 'UQNB_EXPERIMENTS': str(exps)})
    assert r.returncode == 1 and 'did not write: metrics.json' in r.stderr
    assert not (reports/'quiet').exists()


def test_killed_run_resumes_from_its_checkpoint_and_success_removes_it(tmp_path, reports):
    exps = tmp_path/'experiments'; exps.mkdir()
    _notebook(exps/'resume.ipynb', [
        ('seed: int = 0', ['parameters']),
        ("""\
         import json
         from uqnb.core import Report, atomic_write_json
         report = Report('resume')
         ck = report.checkpoint('state.json')
         attempt = json.loads(ck.read_text())['attempt'] + 1 if ck.exists() else 1
         atomic_write_json(ck, {'attempt': attempt})
         if attempt == 1: raise RuntimeError('preempted')
         report.metrics(attempt=attempt, seed=seed)""", None),
    ])
    env = {'UQNB_REPORTS': str(reports), 'UQNB_EXPERIMENTS': str(exps)}
    assert uqnb('run', 'resume', '--profile', 'smoke', env=env).returncode == 1
    assert len(list((reports/'_checkpoints'/'resume').glob('smoke-*/state.json'))) == 1
    # other parameters do not see that checkpoint
    assert uqnb('run', 'resume', '--profile', 'smoke', '-p', 'seed', '1', env=env).returncode == 1
    r = uqnb('run', 'resume', '--profile', 'smoke', env=env)
    assert r.returncode == 0, r.stderr
    assert 'resuming from the checkpoints of an earlier run' in r.stderr   # a resumed run says so
    assert json.loads((reports/'resume'/'smoke'/'manifest.json').read_text())['resumed'] is True
    assert json.loads((reports/'resume'/'smoke'/'metrics.json').read_text()) == {'attempt': 2, 'seed': 0}
    assert len(list((reports/'_checkpoints'/'resume').glob('smoke-*'))) == 1  # only seed 1's unfinished run is left
