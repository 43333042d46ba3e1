#!/usr/bin/env python
"""Write the glyph sandbox for active learning in object detection to disk, in COCO format.

Paper profile: MNIST digits (``--mnist-root``) or EMNIST letters (``--emnist-root``) pasted on COCO photos
(``--coco-root`` / ``--coco-split``: the images ``<coco-root>/<coco-split>/*.jpg``), 320-px images,
train/val/test = 100000/500/2000.  Train and val glyphs come from disjoint parts of the MNIST/EMNIST
training split, test glyphs from its test split; the COCO images are partitioned 80/10/10 between
train, val and test.  ``--embedded digits|letters`` uses the glyphs and photos that the installed packages
ship instead (no files needed; COCO backgrounds are still used when ``--coco-root`` is given).

Output: ``<out>/{train,val,test}/images/*.png`` and ``<out>/{train,val,test}/annotations.json`` (each split
folder is written atomically), and ``<out>/sandbox.json`` with the settings.

Example:
    .venv/bin/python data_scripts/make_glyph_sandbox.py --mnist-root data/mnist --coco-root data/coco \\
        --coco-split train2017 --out data/glyph_sandbox/mnist_coco --workers 8
"""
from __future__ import annotations
import argparse, dataclasses, sys
from pathlib import Path

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--mnist-root', type=Path, help='folder with the MNIST idx files (read by uqnb.data.formats.load_mnist)')
    src.add_argument('--emnist-root', type=Path, help='folder with the EMNIST idx files (letters subset, uqnb.data.formats.load_emnist)')
    src.add_argument('--embedded', choices=('digits', 'letters'), help="the shipped glyphs (scikit-learn digits or rendered letters)")
    ap.add_argument('--coco-root', type=Path, help='COCO root folder; backgrounds are <coco-root>/<coco-split>/*.jpg (required unless --embedded)')
    ap.add_argument('--coco-split', default='train2017', help='COCO image folder under --coco-root (default: train2017)')
    ap.add_argument('--out', type=Path, required=True, help='output folder (gets train/, val/, test/ and sandbox.json)')
    ap.add_argument('--size', type=int, default=320, help='image size in pixels (default: 320, as in the paper)')
    ap.add_argument('--n-train', type=int, default=100000)
    ap.add_argument('--n-val', type=int, default=500)
    ap.add_argument('--n-test', type=int, default=2000)
    ap.add_argument('--scale', type=float, nargs=2, metavar=('LO', 'HI'), default=None,
                    help='glyph height as a fraction of the image size (default: 0.1 0.35 from 256 px up, else 0.15 0.4)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--workers', type=int, default=0, help='processes drawing images (0: this one)')
    ap.add_argument('--overwrite', action='store_true', help='replace split folders that exist')
    ap.add_argument('--quiet', action='store_true', help='no progress bars')
    args = ap.parse_args(argv)
    for name in ('size', 'n_train', 'n_val', 'n_test'):
        v = getattr(args, name)
        if v < (1 if name == 'size' else 0): ap.error(f"--{name.replace('_', '-')} must be {'positive' if name == 'size' else 'non-negative'}, got {v}")
    if args.workers < 0: ap.error(f"--workers must be non-negative, got {args.workers}")
    if args.embedded is None and args.coco_root is None:
        ap.error('--coco-root is required with --mnist-root/--emnist-root (or use --embedded)')
    for opt in ('mnist_root', 'emnist_root', 'coco_root'):
        p = getattr(args, opt)
        if p is not None and not p.is_dir(): ap.error(f"--{opt.replace('_', '-')}: no such folder: {p}")
    if args.coco_root is not None:
        d = args.coco_root/args.coco_split
        if not d.is_dir(): ap.error(f"--coco-split: no such folder: {d} (expected <coco-root>/<coco-split>/*.jpg)")
        if not any(d.glob('*.jpg')): ap.error(f"--coco-split: no .jpg images in {d}")
    for split in SPLITS:
        o = args.out/split
        if o.exists() and any(o.iterdir()) and not args.overwrite: ap.error(f"--out: {o} exists and is not empty (pass --overwrite)")
    return args


def _formats():
    "The `uqnb.data.formats` module, imported only when real data sets are read."
    try:
        from uqnb.data import formats
    except ImportError as e:
        sys.exit(f"error: reading MNIST/EMNIST needs uqnb.data.formats, which cannot be imported: {e}")
    return formats


def glyph_sources(args) -> dict:
    "For each split: the glyph source (a set name or (images, labels)), its class names and the glyph fractions."
    from uqnb.data.glyphs import DIGIT_NAMES, LETTER_NAMES
    if args.embedded:
        return {s: (args.embedded, None, (0.8, 0.1, 0.1)) for s in SPLITS}
    f = _formats()
    if args.mnist_root:
        train, test, names = f.load_mnist(args.mnist_root, 'train'), f.load_mnist(args.mnist_root, 'test'), DIGIT_NAMES
    else:
        train, test, names = (f.load_emnist(args.emnist_root, 'train', 'letters'),
                              f.load_emnist(args.emnist_root, 'test', 'letters'), LETTER_NAMES)
    # train and val from disjoint parts of the official training split, test from the official test split
    return {'train': (train, names, (0.9, 0.1, 0.0)), 'val': (train, names, (0.9, 0.1, 0.0)), 'test': (test, names, (0.0, 0.0, 1.0))}


def main(argv=None) -> dict:
    args = parse_args(argv)
    from uqnb.core import atomic_write_json
    from uqnb.data.glyphs import GlyphSandbox, GlyphStyle, PAPER_STYLE, write_coco
    style = GlyphStyle() if args.size < 256 else PAPER_STYLE
    if args.scale is not None: style = dataclasses.replace(style, scale=tuple(args.scale))
    backgrounds = sorted((args.coco_root/args.coco_split).glob('*.jpg')) if args.coco_root else None
    sources = glyph_sources(args)
    counts = {'train': args.n_train, 'val': args.n_val, 'test': args.n_test}
    summary = {}
    for split in SPLITS:
        glyphs, names, fractions = sources[split]
        ds = GlyphSandbox(glyphs, split, n_images=counts[split], image_size=args.size, backgrounds=backgrounds,
                          seed=args.seed, style=style, class_names=names, glyph_fractions=fractions)
        ann = write_coco(args.out/split, ds, overwrite=args.overwrite, workers=args.workers, progress=not args.quiet)
        summary[split] = {'annotations': str(ann), 'images': len(ds), 'glyphs': len(ds.glyphs), 'background_regions': len(ds.regions)}
        print(f"{split}: {len(ds)} images -> {ann}", flush=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    atomic_write_json(args.out/'sandbox.json', {'settings': settings, 'style': dataclasses.asdict(style), 'splits': summary})
    return summary


if __name__ == '__main__':
    main()
