"""Throughput of the procedural street scenes (uqnb.data.scenes): scenes/s of `render_scene` (image +
label, numpy) and of `SceneDataset.__getitem__` (torch tensors), per style and OoD setting, on one core.
Each figure is the best of `--repeats` runs of `--n` scenes (the machine may be shared); the CPU-time
rate (process time) is printed next to the wall-clock rate.
Run: .venv/bin/python tests/benchmarks/bench_scenes.py [--size 128 256]"""
import argparse, os, time

os.environ.setdefault('OMP_NUM_THREADS', '1')  # one core
import torch

from uqnb.data.scenes import SceneDataset, preload_textures, render_scene


def rates(fn, n, repeats):
    "Best wall-clock and best CPU-time rates (items/s) of `fn` over `repeats` runs of `n` items."
    walls, cpus = [], []
    for r in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn(r)
        walls.append(time.perf_counter() - t); cpus.append(time.process_time() - c)
    return n / min(walls), n / min(cpus)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=300)
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--size', type=int, nargs=2, default=(128, 256))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    size = tuple(a.size)
    preload_textures(size); render_scene(0, 'real', size, ood='obstacle')  # warm the caches: we time the drawing only
    print(f"{'style':>5} {'ood':>9} {'family':>6} {'what':>11} {'scenes/s (wall)':>16} {'scenes/s (cpu)':>15}")
    for style in ('sim', 'real'):
        for ood, fam in ((None, 'proxy'), ('obstacle', 'proxy'), ('anomaly', 'test'), ('mix', 'proxy')):
            w, c = rates(lambda r: [render_scene((r, i), style, size, ood, fam) for i in range(a.n)], a.n, a.repeats)
            print(f"{style:>5} {str(ood):>9} {fam:>6} {'render':>11} {w:>16.0f} {c:>15.0f}")
        ds = SceneDataset(a.n, style, seed=0, size=size)
        w, c = rates(lambda r: [ds[i] for i in range(a.n)], a.n, a.repeats)
        print(f"{style:>5} {'None':>9} {'-':>6} {'dataset':>11} {w:>16.0f} {c:>15.0f}")
    print(f"size {size[0]}x{size[1]}, {a.n} scenes x best of {a.repeats}, 1 thread")


if __name__ == '__main__':
    main()
