"""PyTorch side of `npm run bench -- --pytorch`: the official networks and one
optimize_parameters() per case, re-implemented compactly from the architecture
facts in ../shared/fixtures/README.md, timed like ../shared/reference/README.md
(2 threads, 3 warm-ups, median of 10; fewer for the 256 px CycleGAN).

python bench/pytorch_reference.py --cases cg_r6_ngf32_64,inf_unet256_256,matmul --json out.json

With --serve CASE (bench/paired.ts) it warms the case up, prints "ready", then
for each line "run COUNT [UNTIMED]" on stdin runs UNTIMED iterations (or
generator passes) and then COUNT timed ones, and prints the seconds the timed
ones took, so the bench can take turns with it.
"""
import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn


def norm_layer(kind, ch):
    return nn.InstanceNorm2d(ch, affine=False, track_running_stats=False) if kind == 'instance' else nn.BatchNorm2d(ch)


class ResnetBlock(nn.Module):
    def __init__(self, dim, norm, bias):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm, dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm, dim))

    def forward(self, x):
        return x + self.conv_block(x)


def resnet_generator(ngf, n_blocks, norm='instance'):
    bias = norm == 'instance'
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=bias), norm_layer(norm, ngf), nn.ReLU(True)]
    for i in range(2):
        m = 2 ** i
        layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, stride=2, padding=1, bias=bias), norm_layer(norm, ngf * m * 2), nn.ReLU(True)]
    layers += [ResnetBlock(ngf * 4, norm, bias) for _ in range(n_blocks)]
    for i in range(2):
        m = 2 ** (2 - i)
        layers += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, stride=2, padding=1, output_padding=1, bias=bias), norm_layer(norm, ngf * m // 2), nn.ReLU(True)]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
    return nn.Sequential(*layers)


class UnetBlock(nn.Module):
    """down = LeakyReLU, conv4 s2, norm; up = ReLU, convT4 s2, norm; concat([x, up]) except outermost."""

    def __init__(self, outer, inner, in_ch=None, sub=None, outermost=False, innermost=False, norm='batch', dropout=False):
        super().__init__()
        self.outermost = outermost
        bias = norm == 'instance'
        in_ch = outer if in_ch is None else in_ch
        down_conv = nn.Conv2d(in_ch, inner, 4, stride=2, padding=1, bias=bias)
        if outermost:
            model = [down_conv, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1), nn.Tanh()]
        elif innermost:
            model = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=bias), norm_layer(norm, outer)]
        else:
            model = [nn.LeakyReLU(0.2, True), down_conv, norm_layer(norm, inner), sub, nn.ReLU(True),
                     nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1, bias=bias), norm_layer(norm, outer)]
            if dropout:
                model.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


def unet_generator(ngf, num_downs, norm='batch', dropout=True):
    block = UnetBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
    for _ in range(num_downs - 5):
        block = UnetBlock(ngf * 8, ngf * 8, sub=block, norm=norm, dropout=dropout)
    block = UnetBlock(ngf * 4, ngf * 8, sub=block, norm=norm)
    block = UnetBlock(ngf * 2, ngf * 4, sub=block, norm=norm)
    block = UnetBlock(ngf, ngf * 2, sub=block, norm=norm)
    return UnetBlock(3, ngf, in_ch=3, sub=block, outermost=True, norm=norm)


def patchgan(in_ch, ndf=64, n_layers=3, norm='instance'):
    bias = norm == 'instance'
    layers = [nn.Conv2d(in_ch, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers + 1):
        prev, mult = mult, min(2 ** n, 8)
        stride = 2 if n < n_layers else 1
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=bias), norm_layer(norm, ndf * mult), nn.LeakyReLU(0.2, True)]
    layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
    return nn.Sequential(*layers)


def init_weights(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return net


def set_requires_grad(nets, flag):
    for net in nets:
        for p in net.parameters():
            p.requires_grad = flag


class Pool:
    """Official ImagePool; it only stores during these few iterations (size 50)."""

    def __init__(self, size=50):
        self.size, self.images = size, []

    def query(self, image):
        if len(self.images) < self.size:
            self.images.append(image)
            return image
        if torch.rand(1).item() > 0.5:
            i = int(torch.randint(0, self.size, (1,)).item())
            old, self.images[i] = self.images[i].clone(), image
            return old
        return image


def cyclegan_step_fn(ngf, n_blocks, side):
    g_a, g_b = init_weights(resnet_generator(ngf, n_blocks)), init_weights(resnet_generator(ngf, n_blocks))
    d_a, d_b = init_weights(patchgan(3)), init_weights(patchgan(3))
    opt_g = torch.optim.Adam(list(g_a.parameters()) + list(g_b.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(list(d_a.parameters()) + list(d_b.parameters()), lr=2e-4, betas=(0.5, 0.999))
    mse, l1 = nn.MSELoss(), nn.L1Loss()
    pool_a, pool_b = Pool(), Pool()
    real_a, real_b = torch.rand(1, 3, side, side) * 2 - 1, torch.rand(1, 3, side, side) * 2 - 1

    def gan(pred, real):
        return mse(pred, torch.ones_like(pred) if real else torch.zeros_like(pred))

    def step():
        fake_b = g_a(real_a)
        rec_a = g_b(fake_b)
        fake_a = g_b(real_b)
        rec_b = g_a(fake_a)
        set_requires_grad([d_a, d_b], False)
        opt_g.zero_grad()
        idt_a, idt_b = g_a(real_b), g_b(real_a)
        loss_g = (gan(d_a(fake_b), True) + gan(d_b(fake_a), True) + l1(rec_a, real_a) * 10 + l1(rec_b, real_b) * 10
                  + l1(idt_a, real_b) * 5 + l1(idt_b, real_a) * 5)
        loss_g.backward()
        opt_g.step()
        set_requires_grad([d_a, d_b], True)
        opt_d.zero_grad()
        for d, real, fake in ((d_a, real_b, pool_b.query(fake_b)), (d_b, real_a, pool_a.query(fake_a))):
            loss_d = (gan(d(real), True) + gan(d(fake.detach()), False)) * 0.5
            loss_d.backward()
        opt_d.step()
    return step


def pix2pix_step_fn(side):
    g, d = init_weights(unet_generator(64, 8)), init_weights(patchgan(6, norm='batch'))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce, l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
    real_a, real_b = torch.rand(1, 3, side, side) * 2 - 1, torch.rand(1, 3, side, side) * 2 - 1

    def gan(pred, real):
        return bce(pred, torch.ones_like(pred) if real else torch.zeros_like(pred))

    def step():
        fake_b = g(real_a)
        set_requires_grad([d], True)
        opt_d.zero_grad()
        fake_ab = torch.cat((real_a, fake_b), 1)
        loss_d = (gan(d(fake_ab.detach()), False) + gan(d(torch.cat((real_a, real_b), 1)), True)) * 0.5
        loss_d.backward()
        opt_d.step()
        set_requires_grad([d], False)
        opt_g.zero_grad()
        loss_g = gan(d(fake_ab), True) + l1(fake_b, real_b) * 100
        loss_g.backward()
        opt_g.step()
    return step


def infer_fn(net):
    x = torch.rand(1, 3, 256, 256) * 2 - 1

    def run():
        with torch.no_grad():
            net(x)
    return run


TRAIN = {
    'cg_r6_ngf32_64': (lambda: cyclegan_step_fn(32, 6, 64), 3, 10),
    'cg_r6_ngf32_128': (lambda: cyclegan_step_fn(32, 6, 128), 3, 10),
    'cg_r9_ngf64_256': (lambda: cyclegan_step_fn(64, 9, 256), 1, 3),
    'p2p_unet256_256': (lambda: pix2pix_step_fn(256), 3, 10),
}
# generator forward only, as the reference README measures it; unet in train mode as test.py runs it
INFER = {
    'inf_r9_ngf64_256': (lambda: infer_fn(init_weights(resnet_generator(64, 9)).eval()), 3, 10),
    'inf_unet256_256': (lambda: infer_fn(init_weights(unet_generator(64, 8)).train()), 3, 10),
}


def timed(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def matmul_rate(n=2048):
    a, b = torch.rand(n, n), torch.rand(n, n)
    med, times = timed(lambda: a @ b, 2, 6)
    return 2 * n ** 3 / med / 1e9, times


def serve(name):
    make, warmup, _ = TRAIN[name] if name in TRAIN else INFER[name]
    fn = make()
    for _ in range(warmup):
        fn()
    print('ready', flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != 'run':
            raise SystemExit(f'unknown request {line!r}')
        count = int(words[1]) if len(words) > 1 else 1
        for _ in range(int(words[2]) if len(words) > 2 else 0):
            fn()
        t = time.perf_counter()
        for _ in range(count):
            fn()
        print(time.perf_counter() - t, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cases', default=','.join([*TRAIN, *INFER, 'matmul']))
    ap.add_argument('--json')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--serve', choices=[*TRAIN, *INFER])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.serve:
        serve(args.serve)
        return
    out = {}
    for name in args.cases.split(','):
        if name in TRAIN:
            make, warmup, runs = TRAIN[name]
            med, times = timed(make(), warmup, runs)
            out[name] = {'seconds_per_iteration': med, 'samples': times}
        elif name in INFER:
            make, warmup, runs = INFER[name]
            med, times = timed(make(), warmup, runs)
            out[name] = {'images_per_second': 1 / med, 'samples': times}
        elif name == 'matmul':
            rate, times = matmul_rate()
            out[name] = {'gflop_per_second': rate, 'samples': times}
        else:
            continue
        print(f'pytorch {name}: {json.dumps({k: v for k, v in out[name].items() if k != "samples"})}', flush=True)
    result = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'cases': out}
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
