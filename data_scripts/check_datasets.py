#!/usr/bin/env python
"""Check the layout of every data set that uqnb reads from disk and print what is found and what is missing.

    python data_scripts/check_datasets.py --data-root /data          # all data sets under their usual names
    python data_scripts/check_datasets.py --cityscapes /data/cityscapes --mnist /data/mnist --read 3

With --data-root DIR, each data set is looked for at DIR/<name>, with these names:

    cityscapes/   leftImg8bit/<split>/<city>/*_leftImg8bit.png, gtFine/<split>/<city>/*_gtFine_labelIds.png
    coco/         annotations/instances_<split>.json, <split>/*.jpg           (also used for the OoD proxy)
    fishyscapes/  LostAndFound/{original,labels}/*.png, Static/{original,labels}/*.png
    smiyc/        dataset_AnomalyTrack/ and dataset_ObstacleTrack/ with images/ and labels_masks/
    synthia/      RGB/*.png, GT/LABELS/*.png  (Synthia-Rand-Cityscapes)
    carla/        <split>/rgb/*.png, <split>/semantic/*.png
    mnist/        {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
    emnist/       emnist-letters-{train,test}-{images-idx3,labels-idx1}-ubyte[.gz]
    cifar10/      cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}

Options naming one data set (--cityscapes PATH, ...) check that one at PATH.  Each data set is opened with
its reader in `uqnb.data.formats` (which checks folders and that every image has its label) and its first
--read samples are decoded.  Exit code 0 when every data set checked is complete, 1 otherwise.
"""
from __future__ import annotations
import argparse, sys
from pathlib import Path

from uqnb.data import formats as F

# name -> (default folder under --data-root, [(label, reader taking (root, n_read))])
def _seg(factory, **kw):
    def check(root: Path, n_read: int) -> str:
        ds = factory(root, **kw)
        for i in range(min(n_read, len(ds))): ds[i]
        return f"{len(ds)} samples"
    return check

def _arrays(loader, **kw):
    def check(root: Path, n_read: int) -> str:
        x, y = loader(root, **kw)
        return f"{len(x)} samples, images {x.shape[1:]}"
    return check

def _coco(root: Path, n_read: int) -> str:
    "Every split that has an annotations/instances_<split>.json."
    splits = sorted(p.name[len('instances_'):-len('.json')] for p in (root/'annotations').glob('instances_*.json'))
    if not splits: raise FileNotFoundError(f"no COCO annotation file {root/'annotations'/'instances_<split>.json'}")
    out = []
    for split in splits:
        det = F.CocoDetection(root, split)
        for i in range(min(n_read, len(det))): det[i]
        out.append(f"{split}: {len(det)} images, {len(det.categories)} categories, {len(F.select_coco_ood(det.coco))} OoD proxy candidates")
    return '; '.join(out)

def _carla(root: Path, n_read: int) -> str:
    "Every split folder that has an rgb/ folder."
    splits = sorted(p.parent.name for p in root.glob('*/rgb') if p.is_dir())
    if not splits: raise FileNotFoundError(f"no CARLA split folder with rgb/ and semantic/ under {root}")
    return '; '.join(f"{s}: {_seg(F.CarlaSegmentation, split=s)(root, n_read)}" for s in splits)

DATASETS: dict[str, tuple[str, list[tuple[str, object]]]] = {
    'cityscapes': ('cityscapes', [(f'cityscapes {s}', _seg(F.CityscapesSegmentation, split=s)) for s in ('train', 'val')]),
    'coco': ('coco', [('coco', _coco)]),
    'fishyscapes': ('fishyscapes', [('fishyscapes LostAndFound', _seg(F.Fishyscapes, subset='LostAndFound')),
                                    ('fishyscapes Static', _seg(F.Fishyscapes, subset='Static'))]),
    'road_anomaly21': ('smiyc', [('road_anomaly21 val', _seg(F.SegmentMeIfYouCan, split='val', track='anomaly'))]),
    'road_obstacle21': ('smiyc', [('road_obstacle21 val', _seg(F.SegmentMeIfYouCan, split='val', track='obstacle'))]),
    'synthia': ('synthia', [('synthia all', _seg(F.SynthiaSegmentation, split='all'))]),
    'carla': ('carla', [('carla', _carla)]),
    'mnist': ('mnist', [(f'mnist {s}', _arrays(F.load_mnist, split=s)) for s in ('train', 'test')]),
    'emnist': ('emnist', [(f'emnist letters {s}', _arrays(F.load_emnist, split=s, subset='letters')) for s in ('train', 'test')]),
    'cifar10': ('cifar10', [(f'cifar10 {s}', _arrays(F.load_cifar10, split=s)) for s in ('train', 'test')]),
}


def check(name: str, root: Path, n_read: int) -> list[str]:
    "Check data set `name` at `root`; print one line per part; return the problems."
    problems = []
    if not root.exists():
        print(f"MISSING  {name:<28} {root} does not exist")
        return [f"{name}: {root} does not exist"]
    for label, fn in DATASETS[name][1]:
        try:
            print(f"OK       {label:<28} {fn(root, n_read)}  ({root})")
        except (FileNotFoundError, ValueError, OSError) as e:
            kind = 'MISSING' if isinstance(e, FileNotFoundError) else 'BROKEN'
            print(f"{kind:<8} {label:<28} {e}")
            problems.append(f"{label}: {e}")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog='\n'.join(__doc__.split('\n')[4:17]))
    ap.add_argument('--data-root', type=Path, help='folder holding every data set under its usual name (see above)')
    for name in DATASETS:
        ap.add_argument(f"--{name.replace('_', '-')}", type=Path, metavar='PATH', help=f'where {name} is')
    ap.add_argument('--read', type=int, default=1, help='decode this many samples of each data set (default 1)')
    args = ap.parse_args(argv)
    roots = {}
    if args.data_root:
        if not args.data_root.is_dir():
            print(f"ERROR: --data-root not found: {args.data_root}", file=sys.stderr)
            return 1
        roots = {n: args.data_root/folder for n, (folder, _) in DATASETS.items()}
    roots.update({n: getattr(args, n) for n in DATASETS if getattr(args, n) is not None})
    if not roots: ap.error('name at least one data set (e.g. --cityscapes PATH) or --data-root DIR')
    problems = []
    for name, root in roots.items(): problems += check(name, root, args.read)
    n_ok = len(roots) - len({p.split(':')[0].split()[0] for p in problems})
    print(f"\n{n_ok} of {len(roots)} data set(s) complete" + (f", {len(problems)} problem(s)" if problems else ''))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
