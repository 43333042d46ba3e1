"""Throughput of the glyph sandbox: images/s of `GlyphSandbox.sample` (crop + composition) and of
`write_coco` (with PNG encoding), at 128 and 320 px.  Run: .venv/bin/python tests/benchmarks/bench_glyphs.py"""
import argparse, tempfile, time
from pathlib import Path

from uqnb.data.glyphs import GlyphSandbox, write_coco, digit_glyphs, letter_glyphs, shipped_photos


def rate(fn, n):
    "Images per wall-clock second and per CPU second of this process (the latter is steadier on a shared machine)."
    t, c = time.perf_counter(), time.process_time()
    fn()
    return n / (time.perf_counter() - t), n / (time.process_time() - c)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--n', type=int, default=400, help='images per measurement at 128 px (a third of that at 320 px)')
    args = ap.parse_args(argv)
    digit_glyphs(); letter_glyphs(); shipped_photos()          # warm the caches: we time the composition only
    rows = []
    for size in (128, 320):
        n = args.n if size == 128 else max(1, args.n // 3)
        for glyphs in ('digits', 'letters'):
            ds = GlyphSandbox(glyphs, 'train', n_images=n, image_size=size, seed=0)
            boxes = []
            r_sample = rate(lambda: boxes.extend(len(ds.sample(i)['boxes']) for i in range(n)), n)
            with tempfile.TemporaryDirectory() as d:
                r_write = rate(lambda: write_coco(Path(d)/'out', ds, progress=False), n)
            rows.append((size, glyphs, n, sum(boxes) / n, r_sample, r_write))
    print('| size | glyphs | images | boxes/img | sample img/s (wall) | sample img/CPU-s | write_coco img/s (wall) | write_coco img/CPU-s |')
    print('|---:|---|---:|---:|---:|---:|---:|---:|')
    for size, g, n, b, rs, rw in rows:
        print(f"| {size} | {g} | {n} | {b:.2f} | {rs[0]:.0f} | {rs[1]:.0f} | {rw[0]:.0f} | {rw[1]:.0f} |")


if __name__ == '__main__':
    main()
