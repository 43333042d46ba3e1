"""uqnb.gan.networks at the reference defaults: the parameter counts that the reference CycleGAN prints (11.378 M per ResNet
generator, 2.765 M per 70x70 PatchGAN), checked against an independent, hand-layered construction of the reference
architecture; and the task-informed fine-tuning leaves the expert's weights alone while the generator learns from it."""
import torch
from torch import nn

from uqnb.gan.networks import ResnetGenerator, PatchDiscriminator, count_parameters, REFERENCE_G_PARAMS, REFERENCE_D_PARAMS


class _Residual(nn.Sequential):
    def forward(self, x): return x + super().forward(x)


def _reference_generator():
    "The reference ResNet generator (ngf 64, 9 blocks, instance norm without affine, so convs with bias), layer by layer."
    IN = lambda c: nn.InstanceNorm2d(c)          # affine=False by default: no parameters
    L = [nn.ReflectionPad2d(3), nn.Conv2d(3, 64, 7), IN(64), nn.ReLU(),
         nn.Conv2d(64, 128, 3, 2, 1), IN(128), nn.ReLU(), nn.Conv2d(128, 256, 3, 2, 1), IN(256), nn.ReLU()]
    for _ in range(9):
        L += [_Residual(nn.ReflectionPad2d(1), nn.Conv2d(256, 256, 3), IN(256), nn.ReLU(), nn.ReflectionPad2d(1), nn.Conv2d(256, 256, 3), IN(256))]
    L += [nn.ConvTranspose2d(256, 128, 3, 2, 1, 1), IN(128), nn.ReLU(), nn.ConvTranspose2d(128, 64, 3, 2, 1, 1), IN(64), nn.ReLU(),
          nn.ReflectionPad2d(3), nn.Conv2d(64, 3, 7), nn.Tanh()]
    return nn.Sequential(*L)


def _reference_discriminator():
    "The reference 70x70 PatchGAN (ndf 64, 3 layers, instance norm), layer by layer."
    IN, A = nn.InstanceNorm2d, lambda: nn.LeakyReLU(0.2)
    return nn.Sequential(nn.Conv2d(3, 64, 4, 2, 1), A(), nn.Conv2d(64, 128, 4, 2, 1), IN(128), A(), nn.Conv2d(128, 256, 4, 2, 1), IN(256), A(),
                         nn.Conv2d(256, 512, 4, 1, 1), IN(512), A(), nn.Conv2d(512, 1, 4, 1, 1))


def _shapes(net):
    return [tuple(p.shape) for p in net.parameters()]


def test_reference_parameter_counts():
    g, d = ResnetGenerator(), PatchDiscriminator()
    assert count_parameters(_reference_generator()) == REFERENCE_G_PARAMS == 11_378_179 == count_parameters(g)
    assert count_parameters(_reference_discriminator()) == REFERENCE_D_PARAMS == 2_764_737 == count_parameters(d)
    assert _shapes(g) == _shapes(_reference_generator()) and _shapes(d) == _shapes(_reference_discriminator())   # the same layers, in order
    assert round(REFERENCE_G_PARAMS / 1e6, 3) == 11.378 and round(REFERENCE_D_PARAMS / 1e6, 3) == 2.765


def test_reference_networks_compute_the_same_function():
    g, d = ResnetGenerator(), PatchDiscriminator()
    rg, rd = _reference_generator(), _reference_discriminator()
    rg.load_state_dict(dict(zip(rg.state_dict(), g.state_dict().values())))
    rd.load_state_dict(dict(zip(rd.state_dict(), d.state_dict().values())))
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(g(x), rg(x)); torch.testing.assert_close(d(x), rd(x))


def test_task_loss_trains_the_generator_not_the_expert():
    from uqnb.seg.models import SmallSegNet
    from uqnb.gan.training import GANConfig, CycleGAN, CycleGANTrainer
    torch.manual_seed(0)
    expert = SmallSegNet(num_classes=4, width=4)
    before = {k: v.clone() for k, v in expert.state_dict().items()}
    gan = CycleGAN(GANConfig(ngf=4, ndf=4, n_blocks=1), seed=0)
    g0 = [p.clone() for p in gan.G_rs.parameters()]
    tr = CycleGANTrainer(gan, 3, seed=0, expert=expert, task_weight=5.0)
    x, s = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    for _ in range(3): tr.step(x, s, (x, torch.randint(0, 4, (1, 32, 32))))
    assert all(torch.equal(before[k], v) for k, v in expert.state_dict().items())
    assert any(not torch.equal(a, b) for a, b in zip(g0, gan.G_rs.parameters()))
