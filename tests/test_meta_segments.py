"""Segment features and targets of `uqnb.meta.segments` against an independent, per-segment computation written
from the definitions of the reference implementation (MetaSeg's `metrics.pyx`, as used by meta-ood): boundary pixels
are segment pixels with an in-image 8-neighbour outside the segment (the image border does not count); the neighbour
histogram counts every (segment pixel, outside in-image 8-neighbour) pair; `iou` is the adjusted IoU, the union
growing from the segment by a flood fill through ground-truth pixels that no predicted segment covers."""
from collections import deque

import numpy as np
import pytest
from scipy import ndimage
from scipy.stats import entropy as sp_entropy

from uqnb.meta.segments import image_segment_table, normalised_entropy, segment_features, segment_targets

EIGHT = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def _inside(y, x, H, W): return 0 <= y < H and 0 <= x < W


def reference_features(P, seg):
    "Per segment id: S, S_in, S_bd, E, E_bd, mean_row, mean_col and the neighbour histogram, by loops over pixels."
    q, H, W = P.shape
    E = sp_entropy(P, axis=0) / np.log(q)
    pred = P.argmax(0)
    out = {}
    for k in sorted(set(seg[seg > 0].tolist())):
        n_in = n_bd = 0; e_sum = e_bd = 0.0; rows = cols = 0.0; hist = np.zeros(q)
        for y in range(H):
            for x in range(W):
                if seg[y, x] != k: continue
                outside = [(y + dy, x + dx) for dy, dx in EIGHT if _inside(y + dy, x + dx, H, W) and seg[y + dy, x + dx] != k]
                for yy, xx in outside: hist[pred[yy, xx]] += 1
                if outside: n_bd += 1; e_bd += E[y, x]
                else: n_in += 1
                e_sum += E[y, x]; rows += y; cols += x
        S = n_in + n_bd
        out[k] = dict(S=S, S_in=n_in, S_bd=n_bd, E=e_sum / S, E_bd=e_bd / n_bd if n_bd else 0.0,
                      mean_row=rows / S, mean_col=cols / S, nbr=hist / max(hist.sum(), 1))
    return out


def reference_adjusted_iou(seg, gt):
    "Adjusted IoU per segment id: |k ∩ G| / (|k| + flood through GT pixels outside every segment, started next to k)."
    H, W = seg.shape
    out = {}
    for k in sorted(set(seg[seg > 0].tolist())):
        members = list(zip(*np.nonzero(seg == k)))
        I = sum(bool(gt[p]) for p in members)
        if I == 0: out[k] = 0.0; continue
        seen, queue = set(), deque()
        for y, x in members:
            for dy, dx in EIGHT:
                p = (y + dy, x + dx)
                if _inside(*p, H, W) and gt[p] and seg[p] == 0 and p not in seen: seen.add(p); queue.append(p)
        while queue:
            y, x = queue.popleft()
            for dy, dx in EIGHT:
                p = (y + dy, x + dx)
                if _inside(*p, H, W) and gt[p] and seg[p] == 0 and p not in seen: seen.add(p); queue.append(p)
        out[k] = I / (len(members) + len(seen))
    return out


def _probs(rng, q, H, W, sharp=10.0):
    logits = ndimage.gaussian_filter(rng.normal(size=(q, H, W)), (0, 1.5, 1.5)) * sharp
    P = np.exp(logits - logits.max(0)); return P / P.sum(0)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_features_against_reference(seed):
    rng = np.random.default_rng(seed)
    q, H, W = 4, 23, 31
    P = _probs(rng, q, H, W)
    components, n = ndimage.label(normalised_entropy(P) >= 0.5, structure=np.ones((3, 3)))
    ids = rng.integers(0, 5, (H, W)) * (rng.random((H, W)) < 0.6)          # adjacent ids, pieces, the border
    for seg in (components, ids):
        f = segment_features(P, seg)
        ref = reference_features(P, seg)
        assert list(f.index) == sorted(ref)
        for k, r in ref.items():
            for col in ('S', 'S_in', 'S_bd', 'E', 'E_bd', 'mean_row', 'mean_col'):
                assert f.loc[k, col] == pytest.approx(r[col], abs=1e-9), (k, col)
            np.testing.assert_allclose(f.loc[k, [f'nbr_{c}' for c in range(q)]].to_numpy(float), r['nbr'], atol=1e-12)
    # the conventions matter on these maps: some segment touches the border, some pixel neighbours a segment twice
    border = np.zeros((H, W), bool); border[[0, -1]] = True; border[:, [0, -1]] = True
    assert (components[border] > 0).any()


def _check_adjusted_iou(seed):
    "Compare with the flood fill on random maps of `seed`; True when the adjusted IoU exceeds the plain one somewhere."
    rng = np.random.default_rng(seed)
    H, W = 30, 40
    gt = ndimage.gaussian_filter(rng.normal(size=(H, W)), 2) > 0.2
    pred = ndimage.gaussian_filter(rng.normal(size=(H, W)), 2) > 0.1
    seg, n = ndimage.label(pred, structure=np.ones((3, 3)), output=np.int32)
    label = np.where(gt, 254, 0).astype(np.uint8); label[rng.random((H, W)) < 0.05] = 255
    t = segment_targets(seg, label, ood_id=254)
    ref = reference_adjusted_iou(seg, label == 254)
    assert n >= 3 and list(t.index) == sorted(ref)
    np.testing.assert_allclose(t['iou'].to_numpy(), [ref[k] for k in t.index], atol=1e-12)
    assert (t['iou'][t['false_positive']] == 0).all() and (t['iou'][~t['false_positive']] > 0).all()
    plain = []   # the adjusted IoU is never below the plain one (segment ∪ touching GT components)
    g, ng = ndimage.label(label == 254, structure=np.ones((3, 3)))
    for k in t.index:
        m = seg == k; K = np.isin(g, np.unique(g[m & (g > 0)]))
        plain.append((m & K).sum() / (m | K).sum() if (m & K).any() else 0.0)
    assert (t['iou'].to_numpy() >= np.array(plain) - 1e-12).all()
    return (t['iou'].to_numpy() > np.array(plain) + 1e-9).any()


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_adjusted_iou_against_flood_fill(seed): _check_adjusted_iou(seed)


def test_adjusted_iou_differs_from_plain_somewhere():
    assert any(_check_adjusted_iou(s) for s in range(4))


def test_image_segment_table_removes_void_before_labelling():
    q, H, W = 3, 20, 30
    P = np.full((q, H, W), 1 / q)                                            # entropy 1 everywhere: one segment
    label = np.zeros((H, W), np.int64); label[:, 15] = 255; label[2:6, 3:7] = 254
    seg, tab = image_segment_table(P, label, threshold=0.5, ood_id=254, void_id=255)
    assert len(tab) == 2 and not (seg[:, 15] > 0).any()                      # the void column splits it in two
    assert tab['false_positive'].tolist() == [False, True]
    seg, tab = image_segment_table(P, label, threshold=0.5, ood_id=254)       # without void_id: one segment
    assert len(tab) == 1
    with pytest.raises(ValueError, match='needs ood_id'): image_segment_table(P, label, threshold=0.5)
