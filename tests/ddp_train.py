"""A small training run through uqnb.dist, launched as one process (`python tests/ddp_train.py OUT`) or several
(`torchrun --nproc_per_node 2 tests/ddp_train.py OUT`): rank 0 writes the global batch's loss at every step and
the final weights to OUT. Used by tests/test_dist.py."""
import json, sys
import torch
from uqnb.dist import init_distributed, distributed_loader, wrap, mean_over_processes, cleanup

GLOBAL_BATCH, EPOCHS = 16, 3

def main(out):
    torch.manual_seed(0); torch.set_num_threads(1)
    info, device = init_distributed(backend='gloo')
    X = torch.randn(96, 8, generator=torch.Generator().manual_seed(1))
    y = (X[:, :4].sum(1) > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))  # same init on every rank
    model = wrap(model, info, device)
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    loader = distributed_loader(torch.utils.data.TensorDataset(X, y), GLOBAL_BATCH, info, seed=3)
    losses = []
    for epoch in range(EPOCHS):
        loader.sampler.set_epoch(epoch)
        for xb, yb in loader:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb.to(device)), yb.to(device))
            loss.backward(); opt.step()
            losses.append(float(mean_over_processes(loss)))
    if info.is_main:
        weights = [p.detach().cpu().flatten().tolist() for p in model.parameters()]
        with open(out, 'w') as f: json.dump(dict(world_size=info.world_size, losses=losses, weights=weights), f)
    cleanup()

if __name__ == '__main__':
    main(sys.argv[1])
