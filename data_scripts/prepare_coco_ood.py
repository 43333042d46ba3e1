#!/usr/bin/env python
"""Select COCO images that can serve as out-of-distribution proxies and write their list and object masks.

    python data_scripts/prepare_coco_ood.py /data/coco --split train2017 --out /data/coco_ood --min-size 480

An image is kept when it has at least one annotated object, none of the street classes (person, bicycle,
car, motorcycle, bus, truck, traffic light, stop sign) and, with --min-size, a shorter side of at least
that many pixels.  For each kept image the script writes `<out>/masks/<file stem>.png` (uint8: 254 = object
pixel = OOD_ID, 255 = void) and lists all kept images in `<out>/coco_ood.json` (image id, file, mask,
size) and `<out>/coco_ood.txt` (one image path per line).  With --copy-images the images are copied to
`<out>/images/` too.  Expected input layout: <root>/annotations/instances_<split>.json and <root>/<split>/.
Exit code 0 on success, 1 when the input is missing or broken.
"""
from __future__ import annotations
import argparse, shutil, sys, io
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from uqnb.core import atomic_write, atomic_write_json
from uqnb.data.formats import COCO_STREET_CLASSES, load_coco, coco_ood_mask, select_coco_ood


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('root', type=Path, help='COCO root (holds annotations/ and the image folders)')
    ap.add_argument('--split', default='train2017', help='COCO split, e.g. train2017 (default) or val2017')
    ap.add_argument('--out', type=Path, required=True, help='output folder for the list and the masks')
    ap.add_argument('--min-size', type=int, default=None, help='keep only images whose shorter side is at least this')
    ap.add_argument('--limit', type=int, default=None, help='keep at most this many images (the first by image id)')
    ap.add_argument('--copy-images', action='store_true', help='also copy the selected images to <out>/images/')
    args = ap.parse_args(argv)
    try:
        coco, img_dir = load_coco(args.root, args.split)
    except (FileNotFoundError, ValueError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    ids = select_coco_ood(coco, args.min_size)
    n_all = len(coco.imgs)
    street = {c for c, v in coco.cats.items() if v['name'] in COCO_STREET_CLASSES}
    n_street = sum(any(a['category_id'] in street for a in coco.imgToAnns.get(i, [])) for i in coco.imgs)
    n_empty = sum(not coco.imgToAnns.get(i) for i in coco.imgs)
    if args.limit is not None: ids = ids[:args.limit]
    missing = [img_dir/coco.imgs[i]['file_name'] for i in ids if not (img_dir/coco.imgs[i]['file_name']).is_file()]
    if missing:
        for m in missing[:20]: print(f"PROBLEM: image file not found: {m}", file=sys.stderr)
        print(f"{len(missing)} selected image(s) missing under {img_dir}", file=sys.stderr)
        return 1
    entries = []
    for i in tqdm(ids, desc='masks', leave=False):
        info = coco.imgs[i]
        src = img_dir/info['file_name']
        mask_rel = Path('masks')/f"{Path(info['file_name']).stem}.png"
        buf = io.BytesIO(); Image.fromarray(coco_ood_mask(coco, i)).save(buf, format='PNG')
        atomic_write(args.out/mask_rel, buf.getvalue())
        image = str(src)
        if args.copy_images:
            dst = args.out/'images'/info['file_name']
            atomic_write(dst, src.read_bytes()); image = str(Path('images')/info['file_name'])
        entries.append({'image_id': i, 'file_name': info['file_name'], 'image': image, 'mask': str(mask_rel),
                        'height': info['height'], 'width': info['width']})
    atomic_write_json(args.out/'coco_ood.json', {'root': str(args.root), 'split': args.split, 'min_size': args.min_size,
                                                 'excluded_classes': list(COCO_STREET_CLASSES), 'images': entries},
                      sort_keys=False)
    atomic_write(args.out/'coco_ood.txt', ''.join(f"{e['image']}\n" for e in entries))
    print(f"{args.split}: {n_all} images, {n_street} with street classes, {n_empty} without objects; "
          f"selected {len(entries)} OoD proxy images" + (f" (min size {args.min_size})" if args.min_size else ''))
    print(f"wrote {args.out/'coco_ood.json'} and {len(entries)} masks under {args.out/'masks'}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
