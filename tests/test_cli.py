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
    qs = r.stdout[r.stdout.index('quickstart: Quickstart'):]
    line = next(l for l in qs.splitlines() if l.strip().startswith('epochs'))
    assert 'int' in line and '10 / 60 / 100' in line and 'training epochs' in line   # its value at smoke / default / paper
    assert 'parameters (value at smoke / default / paper):' in r.stdout


@pytest.mark.parametrize('args, message', [
    (['-p', 'no_such_param', '1'], "unknown parameter 'no_such_param' for experiment 'quickstart'"),
    (['-p', 'seed', 'abc'], "parameter 'seed' of experiment 'quickstart' must be int, got str 'abc'"),
    (['-p', 'ood_digits', '7'], "parameter 'ood_digits' of experiment 'quickstart' must be list, got int 7"),
    (['-p', 'profile', 'paper'], 'the profile is chosen with --profile'),
    (['-p', 'epochs', '-5'], "parameter epochs must be >= 1, got -5 (experiment quickstart)"),
    (['-p', 'n_seeds', '0'], "parameter n_seeds must be >= 1, got 0 (experiment quickstart)"),
    (['-p', 'ood_digits', '[8, 12]'], "parameter ood_digits must be >= 0 and <= 9, got [8, 12] (experiment quickstart)"),
    (['-p', 'device', 'gpu'], "parameter 'device' must be one of auto, cpu, cuda, got 'gpu'"),
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


def test_device_in_manifest_and_no_papermill_warnings(tmp_path, reports):
    "-p device cpu is the runner's; the manifest records device, GPU and CUDA; papermill does not warn about checked parameters."
    exps = tmp_path/'experiments'; exps.mkdir()
    _notebook(exps/'dev.ipynb', [
        ("n_train: int = None  # training images (None = all)\nseed: int = 0  # seed", ['parameters']),
        ("import os\nfrom uqnb.core import Report, default_device\nReport('dev').metrics(device=str(default_device()), env=os.environ['UQNB_DEVICE'], n=n_train)", None),
    ])
    env = {'UQNB_REPORTS': str(reports), 'UQNB_EXPERIMENTS': str(exps)}
    r = uqnb('run', 'dev', '--profile', 'smoke', '-p', 'device', 'cpu', '-p', 'n_train', '5', env=env)
    assert r.returncode == 0, r.stderr
    assert 'Passed unknown parameter' not in r.stderr and 'Unable to parse line' not in r.stderr
    out = reports/'dev'/'smoke'
    assert json.loads((out/'metrics.json').read_text()) == {'device': 'cpu', 'env': 'cpu', 'n': 5}
    man = json.loads((out/'manifest.json').read_text())
    assert (man['device'], man['device_choice'], man['gpu']) == ('cpu', 'cpu', None)
    assert 'cuda' in man and 'cuda_driver' in man and man['torch'].startswith('2.')
    assert 'device' not in man['parameters']   # the runner's parameter, not the notebook's


def _known_strategies() -> str:
    from uqnb.al.strategies import STRATEGIES   # the registry the parameters cell names, as it is now
    return ', '.join(STRATEGIES)


def _known_backbones() -> str:
    from uqnb.seg.models import SEG_BACKBONES   # the backbones uqnb.seg.models.deeplabv3 builds
    return ', '.join(SEG_BACKBONES)


@pytest.mark.parametrize('exp, args, message', [
    ('active_learning', ['-p', 'strategies', 'bald'], lambda: f"parameter strategies: unknown strategy 'bald'; known: {_known_strategies()} (experiment active_learning)"),
    ('anomaly', ['-p', 'lam', '1.5'], lambda: "parameter lam must be >= 0 and <= 1, got 1.5 (experiment anomaly)"),
    ('anomaly', ['-p', 'backbone', 'resnet18'], lambda: f"parameter backbone: unknown backbone 'resnet18'; known: {_known_backbones()} (experiment anomaly)"),
    ('anomaly', ['-p', 'eval_dataset', 'smiyc'], lambda: "parameter eval_dataset: unknown eval_dataset 'smiyc'"),
    ('domain_adaptation', ['-p', 'sim_dataset', 'gta5'], lambda: "parameter sim_dataset: unknown sim_dataset 'gta5'; known: synthia, carla (experiment domain_adaptation)"),
    ('architecture_search', ['-p', 'shrink_rate', '0'], lambda: "parameter shrink_rate must be > 0 and <= 1, got 0.0 (experiment architecture_search)"),
])
def test_parameters_cell_declarations_fail_at_preflight_in_one_line(tmp_path, exp, args, message):
    "Ranges and choices declared in the experiments' parameters cells (registries of the library included) stop a run before any kernel starts."
    r = uqnb('run', exp, '--profile', 'smoke', *args, env={'UQNB_REPORTS': str(tmp_path)})
    assert r.returncode == 1, r.stderr[-2000:]
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr[-2000:]     # one line, naming the parameter
    assert r.stderr.startswith(f"uqnb run: error: {message()}"), r.stderr[-2000:]
    assert not list(tmp_path.iterdir())   # nothing written, no kernel started


def test_unresolvable_registry_fails_at_preflight_naming_the_parameter(tmp_path, reports):
    exps = tmp_path/'experiments'; exps.mkdir()
    _notebook(exps/'reg.ipynb', [
        ("profile: str = 'default'  # profile\nstrategies: str = 'random'  # query strategies {uqnb.al.strategies.NO_SUCH_REGISTRY}", ['parameters']),
        ("from uqnb.core import Report\nReport('reg').metrics(ran=1)", None),
    ])
    env = {'UQNB_REPORTS': str(reports), 'UQNB_EXPERIMENTS': str(exps)}
    assert uqnb('list', env=env).returncode == 0   # reading the notebook imports nothing
    before = snapshot(reports)
    r = uqnb('run', 'reg', '--profile', 'smoke', env=env)
    assert r.returncode == 1
    assert r.stderr.strip() == ("uqnb run: error: parameter 'strategies' (experiment reg): cannot resolve the registry "
                                "{uqnb.al.strategies.NO_SUCH_REGISTRY}: uqnb.al.strategies has no attribute 'NO_SUCH_REGISTRY'"), r.stderr[-2000:]
    assert snapshot(reports) == before


def test_declared_ranges_reach_the_notebook_though_papermill_cannot_parse_their_lines(tmp_path, reports):
    "papermill skips a parameter line with more than one '=' (`[>= 1]`); the runner injects every checked value anyway, without warnings."
    exps = tmp_path/'experiments'; exps.mkdir()
    _notebook(exps/'decl.ipynb', [
        ("lr: float = 0.1  # step size [> 0, <= 1]\nmode: str = 'fast'  # how {fast, slow}\nkinds: str = 'b'  # registry {uqnb.al.strategies.STRATEGIES}", ['parameters']),
        ("from uqnb.core import Report\nReport('decl').metrics(lr=lr, mode=mode, kinds=kinds)", None),
    ])
    env = {'UQNB_REPORTS': str(reports), 'UQNB_EXPERIMENTS': str(exps)}
    r = uqnb('run', 'decl', '--profile', 'smoke', '-p', 'lr', '1', '-p', 'mode', 'slow', '-p', 'kinds', 'random,entropy', env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'Passed unknown parameter' not in r.stderr and 'Unable to parse line' not in r.stderr
    assert json.loads((reports/'decl'/'smoke'/'metrics.json').read_text()) == {'lr': 1.0, 'mode': 'slow', 'kinds': 'random,entropy'}
