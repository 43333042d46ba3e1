import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def uqnb(*args, env=None, timeout=600):
    "Run the installed `uqnb` command; return the CompletedProcess."
    return subprocess.run([str(BIN/'uqnb'), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, **(env or {})})


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
