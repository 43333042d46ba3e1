#!/usr/bin/env python
"""Check a Cityscapes copy (leftImg8bit + gtFine labelIds), report what it holds, optionally write a downscaled copy.

    python data_scripts/prepare_cityscapes.py /data/cityscapes
    python data_scripts/prepare_cityscapes.py /data/cityscapes --splits train val --out /data/cityscapes_half --scale 0.5
    python data_scripts/prepare_cityscapes.py /data/cityscapes --check-pixels      # also read every label

Expected layout: <root>/leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png and
<root>/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png.  The downscaled copy has the same
layout (images resized bilinearly, labelIds with nearest neighbour), so `uqnb.data.formats` reads it as is.
Exit code 0 when everything requested is present and readable, 1 otherwise.
"""
from __future__ import annotations
import argparse, io, sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from uqnb.core import atomic_write
from uqnb.data.formats import cityscapes_label_to_trainid, read_label_png, read_rgb


def check_split(root: Path, split: str, check_pixels: bool = False) -> tuple[list[tuple[Path, Path]], list[str]]:
    "The (image, label) pairs of `split` and the problems found (missing folders, missing labels, unreadable files)."
    problems, pairs = [], []
    img_dir, lbl_dir = root/'leftImg8bit'/split, root/'gtFine'/split
    for d in (img_dir, lbl_dir):
        if not d.is_dir(): problems.append(f"missing folder: {d}")
    if problems: return pairs, problems
    imgs = sorted(img_dir.glob('*/*_leftImg8bit.png'))
    if not imgs: problems.append(f"no *_leftImg8bit.png images under {img_dir}")
    for p in imgs:
        lbl = lbl_dir/p.parent.name/p.name.replace('_leftImg8bit.png', '_gtFine_labelIds.png')
        if not lbl.is_file(): problems.append(f"missing label for {p}: {lbl}")
        else: pairs.append((p, lbl))
    if check_pixels:
        for p, lbl in tqdm(pairs, desc=f'reading {split}', leave=False):
            try:
                img = Image.open(p); img.verify()
                size = Image.open(p).size
                lab = read_label_png(lbl)
                cityscapes_label_to_trainid(lab, lbl)
                if lab.shape != (size[1], size[0]):
                    problems.append(f"size mismatch: image {p} is {size[0]}x{size[1]} but label {lbl} is {lab.shape[1]}x{lab.shape[0]}")
            except (ValueError, OSError) as e:
                problems.append(f"{e}" if str(p) in str(e) or str(lbl) in str(e) else f"{p}: {e}")
    return pairs, problems


def _png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO(); Image.fromarray(arr).save(buf, format='PNG'); return buf.getvalue()


def write_downscaled(pairs: list[tuple[Path, Path]], root: Path, out: Path, scale: float | None, width: int | None) -> int:
    "Write resized copies of `pairs` under `out` in the same layout; return the number of pairs written."
    for img_p, lbl_p in tqdm(pairs, desc='downscaling', leave=False):
        img = read_rgb(img_p)
        h, w = img.shape[:2]
        nw = width if width else max(1, round(w * scale))
        nh = max(1, round(h * nw / w))
        small = np.asarray(Image.fromarray(img).resize((nw, nh), Image.BILINEAR))
        lab = read_label_png(lbl_p).astype(np.uint8)
        small_lab = np.asarray(Image.fromarray(lab).resize((nw, nh), Image.NEAREST))
        atomic_write(out/img_p.relative_to(root), _png_bytes(small))
        atomic_write(out/lbl_p.relative_to(root), _png_bytes(small_lab))
    return len(pairs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('root', type=Path, help='Cityscapes root (holds leftImg8bit/ and gtFine/)')
    ap.add_argument('--splits', nargs='+', default=['train', 'val'], help='splits to check (default: train val)')
    ap.add_argument('--check-pixels', action='store_true', help='also read every label and check its ids and size')
    ap.add_argument('--out', type=Path, help='write a downscaled copy here (same layout)')
    g = ap.add_mutually_exclusive_group()
    g.add_argument('--scale', type=float, help='downscale factor for --out, e.g. 0.5')
    g.add_argument('--width', type=int, help='target width for --out (height keeps the aspect ratio)')
    args = ap.parse_args(argv)
    if args.out and not (args.scale or args.width): ap.error('--out needs --scale or --width')
    if args.scale is not None and not 0 < args.scale <= 1: ap.error(f'--scale must be in (0, 1], got {args.scale}')
    if not args.root.is_dir():
        print(f"ERROR: Cityscapes root not found: {args.root}", file=sys.stderr)
        return 1
    all_problems, all_pairs = [], {}
    for split in args.splits:
        pairs, problems = check_split(args.root, split, args.check_pixels)
        all_pairs[split], all_problems = pairs, all_problems + problems
        cities = Counter(p.parent.name for p, _ in pairs)
        print(f"{split}: {len(pairs)} image/label pairs in {len(cities)} cities"
              + (f" ({', '.join(f'{c} {n}' for c, n in sorted(cities.items()))})" if cities else ''))
    for p in all_problems: print(f"PROBLEM: {p}", file=sys.stderr)
    if all_problems:
        print(f"{len(all_problems)} problem(s) found", file=sys.stderr)
        return 1
    if args.out:
        n = sum(write_downscaled(all_pairs[s], args.root, args.out, args.scale, args.width) for s in args.splits)
        print(f"wrote {n} downscaled pairs to {args.out}")
    print('OK')
    return 0


if __name__ == '__main__':
    sys.exit(main())
