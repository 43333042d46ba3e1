"""Sweeps on a real single-node SLURM cluster (munge, MariaDB, slurmdbd, slurmctld, slurmd) that these tests start
with tests/slurm/cluster.sh, and on this machine with `--executor local`.

The payloads: quickstart at the smoke profile (a job array of 3 seeds that completes and aggregates) and a small
experiment notebook written here that counts steps with a checkpoint after each (cancel/resubmit and time limit)."""
import json, os, subprocess, textwrap, time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from conftest import uqnb, checkpoint_states, ROOT

SCRIPT = ROOT/'tests'/'slurm'/'cluster.sh'
FAILED = ('FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED')

STEPS = '''\
import json, time
import numpy as np
from uqnb.core import Report, atomic_write_json
import os
if fail_if and os.path.exists(fail_if): raise RuntimeError(f'{fail_if} exists')
report = Report('steps')
ck = report.checkpoint('state.json')
st = json.loads(ck.read_text()) if ck.exists() else {'step': 0, 'total': 0.0, 'seed': seed, 'attempts': 0}
first = st['step']; st['attempts'] += 1
values = np.random.default_rng(seed).random(n_steps)
while st['step'] < n_steps:
    time.sleep(step_seconds)
    st['total'] += float(values[st['step']]); st['step'] += 1
    atomic_write_json(ck, st)
report.metrics(total=st['total'], first_step=first, attempts=st['attempts'], seed=seed)
if work_dir:  # what the tasks of a sweep leave for each other (active learning's step 0, domain adaptation's stages)
    import os, pathlib
    seen = sorted(p.name for p in pathlib.Path(work_dir).glob('*.done')) if os.path.isdir(work_dir) else []
    report.metrics(total=st['total'], first_step=first, attempts=st['attempts'], seed=seed, seen=len(seen))
    os.makedirs(work_dir, exist_ok=True); pathlib.Path(work_dir, f'seed{seed}.done').write_text('1')'''


def reference_total(seed: int, n_steps: int) -> float:
    "What the steps notebook computes, summed in the same order without interruption."
    total = 0.0
    for v in np.random.default_rng(seed).random(n_steps): total += float(v)
    return total


@pytest.fixture(scope='module')
def slurm(tmp_path_factory):
    "A SLURM cluster of its own (state folder, ports) for this module; stopped afterwards (only what it started)."
    state = tmp_path_factory.mktemp('slurm-state')
    port = 30000 + (os.getpid() % 1000) * 4   # ports of its own: test sessions of other checkouts may run beside this one
    env = {**os.environ, 'UQNB_SLURM_STATE': str(state), 'UQNB_SLURM_PORT': str(port)}
    r = subprocess.run(['bash', str(SCRIPT), 'start'], capture_output=True, text=True, env=env, timeout=600)
    if r.returncode == 3:
        print(f"SKIP reason: {r.stderr.strip()}")
        pytest.skip(f"SLURM packages cannot be installed here: {r.stderr.strip().splitlines()[-1]}")
    try:
        assert r.returncode == 0, r.stderr
        again = subprocess.run(['bash', str(SCRIPT), 'start'], capture_output=True, text=True, env=env, timeout=120)
        started = [l.split()[0] for l in (state/'started').read_text().splitlines()]
        assert again.returncode == 0 and started.count('slurmctld') == 1, again.stderr  # idempotent: nothing started twice
        yield {'SLURM_CONF': str(state/'slurm.conf')}
    finally:
        r = subprocess.run(['bash', str(SCRIPT), 'stop'], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr


@pytest.fixture
def steps_exp(tmp_path):
    exps = tmp_path/'experiments'; exps.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata['kernelspec'] = {'name': 'python3', 'language': 'python', 'display_name': 'Python 3'}
    p = nbformat.v4.new_code_cell('seed: int = 0  # seed\nn_steps: int = 8  # steps\nstep_seconds: float = 1.0  # seconds per step [> 0]\n'
                                  'work_dir: str = None  # a folder shared by the tasks of a sweep\n'
                                  'fail_if: str = None  # fail while this file exists')
    p.metadata['tags'] = ['parameters']
    nb.cells = [p, nbformat.v4.new_code_cell(STEPS)]
    nbformat.write(nb, exps/'steps.ipynb')
    return exps


def sq(env, *args) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, env={**os.environ, **env}, timeout=60).stdout


def states(env, reports, exp='steps', profile='smoke') -> dict:
    r = uqnb('status', exp, '--profile', profile, env={**env, 'UQNB_REPORTS': str(reports)})
    rows = [l.split() for l in r.stdout.splitlines()[1:-1]]
    return {row[0]: row[2] for row in rows}


def test_job_array_completes_and_aggregates(slurm, tmp_path):
    reports = tmp_path/'reports'
    env = {**slurm, 'UQNB_REPORTS': str(reports)}
    t0 = time.time()
    r = uqnb('submit', 'quickstart', '--profile', 'smoke', '--seeds', '3', '--time', '10', '--cpus-per-task', '1',
             '--wait', env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    print(f"3-task array of quickstart (smoke): {time.time() - t0:.0f} s")
    assert '3 tasks: 3 COMPLETED' in r.stdout
    runs = reports/'quickstart'/'smoke'/'runs'
    assert sorted(p.name for p in runs.iterdir()) == ['seed-0', 'seed-1', 'seed-2']
    mans = [json.loads((runs/f'seed-{k}'/'manifest.json').read_text()) for k in range(3)]
    assert [m['parameters']['seed'] for m in mans] == [0, 1, 2] and all(m['parameters']['n_seeds'] == 1 for m in mans)
    arrays = {m['slurm']['array_job_id'] for m in mans}
    assert len(arrays) == 1 and sorted(m['slurm']['array_task_id'] for m in mans) == ['0', '1', '2']  # one job array
    # the aggregate: mean and sample std over the seeds, against numpy
    met = [json.loads((runs/f'seed-{k}'/'metrics.json').read_text()) for k in range(3)]
    agg = json.loads((reports/'quickstart'/'smoke'/'metrics.json').read_text())
    for key in ('auroc_entropy', 'accuracy_known'):
        vals = np.array([m[key] for m in met])
        assert agg[f'{key}_mean'] == pytest.approx(vals.mean(), rel=1e-12)
        assert agg[f'{key}_std'] == pytest.approx(vals.std(ddof=1), rel=1e-9)
    assert agg['n_runs'] == 3
    for f in ('sweep.csv', 'sweep.md', 'sweep.png', 'manifest.json'): assert (reports/'quickstart'/'smoke'/f).exists(), f
    assert not [p for p in reports.rglob('*') if '%' in p.name]  # no folder named after a pattern
    logs = reports/'_slurm'/'quickstart'/'smoke'
    assert len(list(logs.glob('*_*_0_log.out'))) == 3


def test_cancelled_task_is_detected_and_resubmitted_resumes(slurm, steps_exp, tmp_path):
    reports = tmp_path/'reports'
    env = {**slurm, 'UQNB_REPORTS': str(reports), 'UQNB_EXPERIMENTS': str(steps_exp)}
    r = uqnb('submit', 'steps', '--profile', 'smoke', '--sweep', 'seed=0,1', '-p', 'n_steps', '10', '-p', 'step_seconds', '1.5',
             '--time', '10', env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    job = next(l.split('job ')[1] for l in r.stdout.splitlines() if l.strip().startswith('seed-1:'))
    deadline = time.time() + 300
    while not [s for s in checkpoint_states(reports/'_checkpoints'/'steps') if s['seed'] == 1 and s['step'] >= 3]:
        assert time.time() < deadline, 'seed 1 never reached step 3'
        time.sleep(0.3)
    sq(env, 'scancel', job)
    t0 = time.time()
    while states(env, reports).get('seed-1') not in FAILED:
        assert time.time() - t0 < 15, f"the cancelled task is not seen as failed: {states(env, reports)}"
        time.sleep(0.5)
    print(f"cancelled task seen as {states(env, reports)['seed-1']} after {time.time() - t0:.1f} s")
    t0 = time.time()
    while states(env, reports).get('seed-0') != 'COMPLETED':
        assert time.time() - t0 < 120, states(env, reports)
        time.sleep(1)
    st = uqnb('status', 'steps', '--profile', 'smoke', env=env)
    assert st.returncode == 1 and 'seed-1' in st.stdout and '_log.err' in st.stdout  # the failed task with its log
    c = uqnb('collect', 'steps', '--profile', 'smoke', env=env)
    assert c.returncode == 1 and 'not complete' in c.stderr and 'seed-1' in c.stderr and len(c.stderr.strip().splitlines()) == 1
    kept = (reports/'steps'/'smoke'/'runs'/'seed-0'/'manifest.json').read_bytes()
    r = uqnb('submit', 'steps', '--profile', 'smoke', '--resubmit-failed', '--wait', env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '2 tasks: 2 COMPLETED' in r.stdout and 'seed-0' not in r.stdout.split('submitted')[1].split('combination')[0]
    run = reports/'steps'/'smoke'/'runs'/'seed-1'
    met = json.loads((run/'metrics.json').read_text())
    assert json.loads((run/'manifest.json').read_text())['resumed'] is True
    assert met['first_step'] >= 3 and met['attempts'] == 2          # it went on from its checkpoint
    assert met['total'] == reference_total(1, 10)                   # to the numbers of an uninterrupted run
    assert (reports/'steps'/'smoke'/'runs'/'seed-0'/'manifest.json').read_bytes() == kept  # the other task's run is kept
    agg = json.loads((reports/'steps'/'smoke'/'metrics.json').read_text())
    assert agg['total_mean'] == pytest.approx((reference_total(0, 10) + reference_total(1, 10)) / 2)


def test_task_past_its_time_limit_is_requeued_and_resumes(slurm, steps_exp, tmp_path):
    reports = tmp_path/'reports'
    env = {**slurm, 'UQNB_REPORTS': str(reports), 'UQNB_EXPERIMENTS': str(steps_exp)}
    # 50 s of work under a 1-minute limit: SLURM signals (USR2, 10 s before the limit, checked every 30 s), submitit
    # checkpoints and requeues, the next attempt resumes from the steps done
    r = uqnb('submit', 'steps', '--profile', 'smoke', '-p', 'n_steps', '10', '-p', 'step_seconds', '5', '--time', '1', env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    job = next(l.split('job ')[1] for l in r.stdout.splitlines() if l.strip().startswith('base:'))
    t0 = time.time()
    while True:
        s = states(env, reports).get('base')
        if s == 'COMPLETED' or s in FAILED: break
        assert time.time() - t0 < 420, f"not done after 7 min: {s}"
        # SLURM holds a requeued job for 2 minutes (BeginTime); let it start again at once
        if 'BeginTime' in sq(env, 'squeue', '-h', '-j', job, '-o', '%r'): sq(env, 'scontrol', 'update', f'JobId={job}', 'StartTime=now')
        time.sleep(1)
    print(f"requeued task done in {time.time() - t0:.0f} s")
    assert s == 'COMPLETED', s
    run = reports/'steps'/'smoke'   # one run, no sweep: the report folder itself, as `uqnb run` writes it
    man, met = json.loads((run/'manifest.json').read_text()), json.loads((run/'metrics.json').read_text())
    assert int(man['slurm']['restart_count'] or 0) >= 1 and man['resumed'] is True
    assert met['attempts'] >= 2 and met['first_step'] > 0
    assert met['total'] == reference_total(0, 10)
    assert 'REQUEUED' in sq(env, 'sacct', '-j', job, '-X', '--duplicates', '-n', '-o', 'State')


def test_local_executor_and_missing_slurm(steps_exp, tmp_path):
    "The same sweep on this machine; and where SLURM is missing, one line and nothing queued."
    reports = tmp_path/'reports'
    env = {'UQNB_REPORTS': str(reports), 'UQNB_EXPERIMENTS': str(steps_exp)}
    r = uqnb('submit', 'steps', '--profile', 'smoke', '--seeds', '2', '-p', 'n_steps', '3', '-p', 'step_seconds', '0.01',
             '--executor', 'local', env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '2 tasks: 2 COMPLETED' in r.stdout
    agg = json.loads((reports/'steps'/'smoke'/'metrics.json').read_text())
    assert agg['total_mean'] == pytest.approx((reference_total(0, 3) + reference_total(1, 3)) / 2)
    r = uqnb('submit', 'steps', '--profile', 'smoke', '--seeds', '2', env={**env, 'PATH': '/nonexistent', 'SLURM_CONF': '/nonexistent'})
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and 'SLURM is not available here' in r.stderr
    assert 'Traceback' not in r.stderr


@pytest.mark.parametrize('args, message', [
    (['-p', 'epochs', '-5'], "parameter epochs must be >= 1, got -5 (experiment quickstart)"),
    (['-p', 'n_seeds', '0'], "parameter n_seeds must be >= 1, got 0 (experiment quickstart)"),
    (['--sweep', 'hidden=16,0'], "parameter hidden must be >= 1, got 0 (experiment quickstart)"),
])
def test_bad_values_fail_before_anything_is_queued(tmp_path, args, message):
    reports = tmp_path/'reports'
    r = uqnb('submit', 'quickstart', '--profile', 'smoke', *args, env={'UQNB_REPORTS': str(reports), 'SLURM_CONF': '/nonexistent'})
    assert r.returncode == 1 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not reports.exists()  # nothing written, nothing queued (pre-flight runs before SLURM is even looked for)


def test_declared_plan_first_tasks_then_the_others_then_the_whole_experiment(slurm, steps_exp, tmp_path, monkeypatch):
    """A plan like active learning's: a first stage runs before the others (afterok), all share a folder, a final run.
    The first task fails at first: the tasks that wait for it are reported, and resubmitted they all run in order."""
    from uqnb import sweep
    reports, flag = tmp_path/'reports', tmp_path/'broken'
    flag.write_text('1')
    for k, v in {**slurm, 'UQNB_REPORTS': str(reports), 'UQNB_EXPERIMENTS': str(steps_exp)}.items(): monkeypatch.setenv(k, v)
    monkeypatch.setitem(sweep.SWEEP_PLANS, 'steps', dict(shared={'work_dir': 'w'}, stages=[dict(seed=0)], final=True))
    state = sweep.submit('steps', 'smoke', {'n_steps': 2, 'step_seconds': 0.01, 'fail_if': str(flag)}, {'seed': [0, 1, 2]},
                         executor='slurm', slurm={'time': 10, 'cpus_per_task': 1})
    rows = sweep.wait_for('steps', 'smoke', timeout=300)
    assert [r['state'] for r in rows] == ['FAILED'] + [sweep.DEPENDENCY_FAILED] * 3, rows   # no hang: they would wait for ever
    assert rows[0]['log'].endswith('_0_log.err') and 'broken exists' in Path(rows[0]['log']).read_text()
    flag.unlink()
    sweep.submit('steps', 'smoke', resubmit_failed=True)
    rows = sweep.wait_for('steps', 'smoke', timeout=300)
    assert [r['state'] for r in rows] == ['COMPLETED'] * 4, rows
    first, *others, final = sweep.load_sweep('steps', 'smoke')['tasks']
    assert all(len(t['attempts']) == 2 for t in [first, *others, final])
    runs = reports/'steps'/'smoke'/'runs'
    seen = {t['name']: json.loads((runs/t['name']/'metrics.json').read_text())['seen'] for t in [first] + others}
    assert seen['seed-0'] == 0 and seen['seed-1'] >= 1 and seen['seed-2'] >= 1, seen   # the first task ran first
    start = lambda t: json.loads((runs/t['name']/'manifest.json').read_text())['start']
    end0 = json.loads((runs/'seed-0'/'manifest.json').read_text())['end']
    assert all(start(t) >= end0 for t in others)
    top = reports/'steps'/'smoke'
    assert json.loads((top/'metrics.json').read_text())['seen'] == 3      # the final run saw every task's work
    assert sorted(p.name for p in runs.iterdir()) == ['_shared', 'seed-0', 'seed-1', 'seed-2']  # and kept the runs
    assert (top/'sweep.csv').exists()                                      # the aggregate table is added to its report
