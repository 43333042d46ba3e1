"""CycleGAN training iterations per second: the library's loop (uqnb.gan.training.train_cyclegan) vs a bare PyTorch loop over
the same networks, losses, pools and optimisers.

Both loops train the same CycleGAN (uqnb.gan.training.CycleGAN) from the same initial weights on the same in-memory images;
the bare loop writes the generator step, the frozen discriminators, the image pool and the discriminator step out by hand.
The library's overhead is (bare it/s - library it/s) / bare it/s; target <= 5 %. Runs alternate (bare, library, bare, ...)
and the median of --repeats runs is reported.
Run:  .venv/bin/python tests/benchmarks/bench_cyclegan.py  [--ngf 8 --n-blocks 2 --size 64 128 --iterations 60]
      .venv/bin/python tests/benchmarks/bench_cyclegan.py --device cuda --amp --ngf 64 --n-blocks 9 --size 256 256
"""
import argparse, json, random, statistics, time

import torch
import torch.nn.functional as F

from uqnb.core import seed_everything
from uqnb.data.scenes import SceneDataset
from uqnb.data.wrappers import CachedDataset
from uqnb.gan.training import GANConfig, CycleGAN, CycleGANTrainer, train_cyclegan


def bare_loop(gan, real, sim, iterations, batch_size, seed, device, amp):
    "The same training written out in plain PyTorch (pools as plain lists)."
    c = gan.cfg
    opt_G = torch.optim.Adam([*gan.G_rs.parameters(), *gan.G_sr.parameters()], lr=c.lr, betas=(c.beta1, 0.999))
    opt_D = torch.optim.Adam([*gan.D_sim.parameters(), *gan.D_real.parameters()], lr=c.lr, betas=(c.beta1, 0.999))
    f = lambda it: 1.0 - max(0, it - iterations // 2) / max(1, iterations - iterations // 2)
    sch = [torch.optim.lr_scheduler.LambdaLR(o, f) for o in (opt_G, opt_D)]
    scalers = [torch.amp.GradScaler('cuda', enabled=amp) for _ in range(2)]
    pools, rng = ([], []), random.Random(seed)
    mse = lambda p, v: F.mse_loss(p, torch.full_like(p, v))
    def pool(k, x):
        out = []
        for img in x.detach():
            if len(pools[k]) < c.pool_size: pools[k].append(img.clone()); out.append(img)
            elif rng.random() < 0.5:
                j = rng.randrange(len(pools[k])); out.append(pools[k][j].clone()); pools[k][j] = img.clone()
            else: out.append(img)
        return torch.stack(out)
    Ds = [*gan.D_sim.parameters(), *gan.D_real.parameters()]
    for it in range(iterations):
        g = torch.Generator().manual_seed(seed * 1_000_003 + it)
        r = torch.stack([real[i][0] for i in torch.randint(len(real), (batch_size,), generator=g).tolist()]).to(device) * 2 - 1
        s = torch.stack([sim[i][0] for i in torch.randint(len(sim), (batch_size,), generator=g).tolist()]).to(device) * 2 - 1
        for p in Ds: p.requires_grad_(False)
        with torch.autocast(device.type, enabled=amp):
            fs = gan.G_rs(r); rr = gan.G_sr(fs); fr = gan.G_sr(s); rs = gan.G_rs(fr)
            lg = (mse(gan.D_sim(fs), 1.0) + mse(gan.D_real(fr), 1.0) + F.l1_loss(rr, r) * c.lambda_cycle + F.l1_loss(rs, s) * c.lambda_cycle
                  + F.l1_loss(gan.G_rs(s), s) * c.lambda_cycle * c.lambda_identity + F.l1_loss(gan.G_sr(r), r) * c.lambda_cycle * c.lambda_identity)
        opt_G.zero_grad(set_to_none=True); scalers[0].scale(lg).backward(); scalers[0].step(opt_G); scalers[0].update()
        for p in Ds: p.requires_grad_(True)
        with torch.autocast(device.type, enabled=amp):
            ps, pr = pool(0, fs), pool(1, fr)
            ld = 0.5 * (mse(gan.D_sim(s), 1.0) + mse(gan.D_sim(ps), 0.0)) + 0.5 * (mse(gan.D_real(r), 1.0) + mse(gan.D_real(pr), 0.0))
        opt_D.zero_grad(set_to_none=True); scalers[1].scale(ld).backward(); scalers[1].step(opt_D); scalers[1].update()
        for x in sch: x.step()
        lg.item(); ld.item()   # the library reads its losses out every iteration too


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--ngf', type=int, default=8); ap.add_argument('--ndf', type=int, default=None)
    ap.add_argument('--n-blocks', type=int, default=2); ap.add_argument('--size', type=int, nargs=2, default=(64, 128))
    ap.add_argument('--batch-size', type=int, default=1); ap.add_argument('--iterations', type=int, default=60)
    ap.add_argument('--warmup', type=int, default=5); ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--device', default='cpu'); ap.add_argument('--amp', action='store_true')
    ap.add_argument('--threads', type=int, default=1); ap.add_argument('--images', type=int, default=40)
    a = ap.parse_args(argv)
    if a.amp and a.device != 'cuda': ap.error('--amp needs --device cuda')
    seed_everything(0, threads=a.threads)
    device = torch.device(a.device)
    real = CachedDataset(SceneDataset(a.images, 'real', seed=0, size=tuple(a.size)))
    sim = CachedDataset(SceneDataset(a.images, 'sim', seed=1, size=tuple(a.size)))
    cfg = GANConfig(ngf=a.ngf, ndf=a.ndf or a.ngf, n_blocks=a.n_blocks)
    sync = (lambda: torch.cuda.synchronize()) if device.type == 'cuda' else (lambda: None)

    def run(kind, n):
        gan = CycleGAN(cfg, seed=0).to(device)
        sync(); t0 = time.perf_counter()
        if kind == 'bare': bare_loop(gan, real, sim, n, a.batch_size, 0, device, a.amp)
        else: train_cyclegan(CycleGANTrainer(gan, n, seed=0, amp=a.amp), real, sim, a.batch_size, seed=0, device=device, progress=False)
        sync()
        return n / (time.perf_counter() - t0)

    run('bare', a.warmup); run('library', a.warmup)
    res = {'bare': [], 'library': []}
    for _ in range(a.repeats):
        for kind in ('bare', 'library'): res[kind].append(run(kind, a.iterations))
    bare, lib = statistics.median(res['bare']), statistics.median(res['library'])
    overhead = 100 * (bare - lib) / bare
    best = 100 * (max(res['bare']) - max(res['library'])) / max(res['bare'])   # fastest runs: less sensitive to other jobs on the machine
    print(f"| loop | iterations/s (median of {a.repeats} x {a.iterations}) |\n|---|---|")
    print(f"| bare PyTorch | {bare:.2f} |\n| uqnb.gan.training.train_cyclegan | {lib:.2f} |")
    print(f"\nlibrary overhead {overhead:+.1f} % of the medians, {best:+.1f} % of the fastest runs (target <= 5 %); ngf {a.ngf}, {a.n_blocks} blocks, {a.size[0]}x{a.size[1]}, batch {a.batch_size}, "
          f"{a.device}{' amp' if a.amp else ''}, {a.threads} thread(s)")
    print(json.dumps(dict(bare_it_s=res['bare'], library_it_s=res['library'], overhead_pct=overhead, overhead_fastest_pct=best, settings=vars(a))))
    return overhead


if __name__ == '__main__':
    main()
