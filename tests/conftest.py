import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def uqnb(*args, env=None, timeout=600):
    "Run the installed `uqnb` command; return the CompletedProcess."
    return subprocess.run([str(BIN/'uqnb'), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, **(env or {})})


def kill_when(args, reports: Path, ready, timeout: float = 300, poll: float = 0.1):
    "Start `uqnb *args` writing into `reports`; SIGKILL its whole process group once `ready()` holds (or after `timeout` s)."
    p = subprocess.Popen([str(BIN/'uqnb'), *args], cwd=ROOT, env={**os.environ, 'UQNB_REPORTS': str(reports)},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + timeout
    while time.time() < deadline and not ready():
        if p.poll() is not None: pytest.fail('the run ended before it could be killed')
        time.sleep(poll)
    os.killpg(p.pid, signal.SIGKILL); p.wait()


def checkpoint_states(folder: Path, name: str = 'state.json') -> list[dict]:
    "The JSON checkpoints called `name` under `folder` (none while it does not exist; empty files skipped)."
    return [json.loads(s.read_text()) for s in (folder.rglob(name) if folder.exists() else []) if s.stat().st_size]


def snapshot(folder: Path) -> dict:
    "Every file under `folder` with its bytes, to show that nothing changed."
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}


@pytest.fixture
def reports(tmp_path):
    "A reports folder of its own for one test, with an earlier run's results in it."
    d = tmp_path/'reports'
    old = d/'quickstart'/'smoke'
    old.mkdir(parents=True)
    (old/'metrics.json').write_text('{"from": "an earlier run"}\n')
    return d
