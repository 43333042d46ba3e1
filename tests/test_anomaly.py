"""Experiment `anomaly` at the smoke profile: seeds in two worker processes give the numbers of one process, and the
protocol's pieces are in the report."""
import json

from conftest import uqnb


def test_workers_do_not_change_the_numbers(tmp_path):
    runs = []
    for workers in (1, 2):
        reports = tmp_path/f'w{workers}'
        r = uqnb('run', 'anomaly', '--profile', 'smoke', '-p', 'workers', str(workers), env={'UQNB_REPORTS': str(reports)})
        assert r.returncode == 0, r.stderr[-3000:]
        runs.append(json.loads((reports/'anomaly'/'smoke'/'metrics.json').read_text()))
    assert runs[0] == runs[1]
    m = runs[0]
    assert m['seeds'] == 2 and m['common_threshold'] in (0.3, 0.5, 0.7)
    for k in ('retrieval_purity', 'retrieval_ari', 'retrieval_precision_at_5', 'retrieval_precision_at_5_chance', 'declaration_cost_pp'):
        assert isinstance(m[k], float), k


def test_bad_parameters_are_named(tmp_path):
    r = uqnb('run', 'anomaly', '--profile', 'smoke', '-p', 'compare_threshold', '0.45', env={'UQNB_REPORTS': str(tmp_path)})
    assert r.returncode == 1 and 'parameter compare_threshold must be one of' in r.stderr, r.stderr[-2000:]
