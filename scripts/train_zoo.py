#!/usr/bin/python3
"""Train the TinyMLaaS model zoo on Fashion-MNIST and export ONNX (opset 13, static [1,1,28,28]).

Run with Debian's interpreter (torch 1.13, onnx 1.12 live there, not in the pyenv python3 on PATH):

    /usr/bin/python3 scripts/train_zoo.py [--out compiler/zoo/models] [--only mlp,cnn,dscnn]

Input preprocessing for every model: x = pixel / 255 (float32 in [0, 1]), no mean/std normalisation,
so the compiler's calibration and test-set code need no per-model preprocessing.

Only ops the compiler supports may appear in the exported graphs (checked after export, the list
`npx tsx compiler/cli.ts ops` prints). The issue-11 models are exported the ordinary PyTorch way:
lenet keeps the Shape/Gather/Unsqueeze/Concat chain of `x.view(x.size(0), -1)` (no constant
folding), sigmlp has a dynamic batch dimension.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn

DATA_DIR = '/usr/share/datasets/fashion-mnist'
ALLOWED_OPS = {
    'Conv', 'Gemm', 'MatMul', 'Add', 'Mul', 'Relu', 'Clip', 'MaxPool', 'AveragePool',
    'GlobalAveragePool', 'Flatten', 'Reshape', 'Softmax', 'BatchNormalization', 'Dropout',
    'Identity', 'Constant', 'Tanh', 'Sigmoid', 'Concat', 'Transpose', 'Shape', 'Gather',
    'Unsqueeze', 'Squeeze', 'Sub', 'Div', 'Pad',
}


def read_idx(path):
    """IDX format (LeCun): big-endian magic 0x0000 <type> <ndim>, ndim uint32 dims, then raw data."""
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack('>HBB', raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f'{path}: unsupported IDX header')
    dims = struct.unpack('>' + 'I' * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    prefix = 'train' if split == 'train' else 't10k'
    x = read_idx(os.path.join(DATA_DIR, f'{prefix}-images-idx3-ubyte.gz')).astype(np.float32) / 255.0
    y = read_idx(os.path.join(DATA_DIR, f'{prefix}-labels-idx1-ubyte.gz')).astype(np.int64)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


class Mlp(nn.Module):
    """784-128-10 fully connected: Flatten, Gemm, Relu, Gemm, Softmax."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


class SmallCnn(nn.Module):
    """Two conv/BN/ReLU/maxpool stages then one dense layer (TFLM 'hello conv' sized)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 7 * 7, 10))

    def forward(self, x):
        return self.head(self.features(x))


class DsCnn(nn.Module):
    """Depthwise-separable CNN (MobileNet-v1 style blocks, ReLU6 -> Clip), global average pool head.

    Channels double block to block (16-32-64-128) as in MobileNet: the pointwise layers carry most of
    the weights. Narrower variants are dominated by per-channel data (bias + requantization) that
    int8 cannot shrink, and miss the compiler's 0.3x module/ONNX size target.
    """

    def __init__(self):
        super().__init__()

        def ds(cin, cout, stride):
            return [
                nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False),
                nn.BatchNorm2d(cin), nn.ReLU6(),
                nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(),
            ]

        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),  # 14x14
            *ds(16, 32, 1),
            *ds(32, 64, 2),  # 7x7
            *ds(64, 128, 1),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(128, 10))

    def forward(self, x):
        return self.head(self.features(x))


class LeNet5(nn.Module):
    """LeNet-5 with tanh and average pooling; flattened with x.view(x.size(0), -1) as PyTorch code does."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c2 = nn.Conv2d(6, 16, 5)
        self.f1 = nn.Linear(16 * 5 * 5, 120)
        self.f2 = nn.Linear(120, 84)
        self.f3 = nn.Linear(84, 10)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x):
        x = self.pool(torch.tanh(self.c1(x)))
        x = self.pool(torch.tanh(self.c2(x)))
        x = x.view(x.size(0), -1)
        return self.f3(torch.tanh(self.f2(torch.tanh(self.f1(x)))))


class BnCnn(nn.Module):
    """Conv / BatchNorm / ReLU6 / max-pool stages (the exported graph ends in Softmax)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 12, 3, padding=1), nn.BatchNorm2d(12), nn.ReLU6(), nn.MaxPool2d(2),
            nn.Conv2d(12, 24, 3, padding=1), nn.BatchNorm2d(24), nn.ReLU6(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(24 * 7 * 7, 10))

    def forward(self, x):
        return self.head(self.features(x))


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return torch.relu(x + self.b(self.a(x)))


class ResNet(nn.Module):
    """A small residual net: stride-2 stem, two residual blocks, pool, a residual block, GAP, dense."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())  # 14x14
        self.b1 = ResBlock(16)
        self.b2 = ResBlock(16)
        self.down = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())  # 7x7
        self.b3 = ResBlock(32)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))

    def forward(self, x):
        return self.head(self.b3(self.down(self.b2(self.b1(self.stem(x))))))


class ShuffleNetLike(nn.Module):
    """MobileNet/ShuffleNet-style: grouped 1x1 convolutions, a channel shuffle (Transpose), depthwise
    3x3, and two branches joined by Concat."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())  # 14x14
        self.g1 = nn.Sequential(nn.Conv2d(16, 32, 1, groups=4, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.dw = nn.Sequential(nn.Conv2d(32, 32, 3, stride=2, padding=1, groups=32, bias=False), nn.BatchNorm2d(32))  # 7x7
        self.g2 = nn.Sequential(nn.Conv2d(32, 32, 1, groups=4, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.side = nn.Sequential(nn.AvgPool2d(3, stride=2, padding=1))  # 16 x 7x7 from the stem
        self.head = nn.Sequential(nn.Conv2d(48, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        s = self.stem(x)
        y = self.g1(s)
        n, c, h, w = y.shape
        y = y.reshape(n, 4, c // 4, h * w).transpose(1, 2).reshape(n, c, h, w)  # channel shuffle
        y = self.g2(self.dw(y))
        return self.head(torch.cat([y, self.side(s)], dim=1))


class SigmoidMlp(nn.Module):
    """784-96-10 with Sigmoid, exported with a dynamic batch dimension."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 96), nn.Sigmoid(), nn.Linear(96, 10))

    def forward(self, x):
        return self.net(x)


class WithSoftmax(nn.Module):
    """Exported graphs end in Softmax so a device reports a probability; training uses the logits."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return torch.softmax(self.inner(x), dim=1)


MODELS = {
    # name: (constructor, epochs, learning rate, description)
    'mlp': (Mlp, 10, 2e-3, 'MLP 784-128-10'),
    'cnn': (SmallCnn, 5, 2e-3, 'CNN conv8-conv16-dense'),
    'dscnn': (DsCnn, 6, 3e-3, 'depthwise-separable CNN 16-32-64-128, global average pool'),
    'lenet': (LeNet5, 6, 2e-3, 'LeNet-5 with tanh, flattened by x.view(x.size(0), -1)'),
    'bncnn': (BnCnn, 5, 3e-3, 'CNN conv12-conv24 with BatchNorm and ReLU6, softmax output'),
    'resnet': (ResNet, 4, 3e-3, 'residual net 16-16-32 (three residual blocks), global average pool'),
    'shufflenet': (ShuffleNetLike, 5, 3e-3, 'grouped 1x1 convolutions, channel shuffle (Transpose), depthwise, Concat'),
    'sigmlp': (SigmoidMlp, 8, 3e-3, 'MLP 784-96-10 with Sigmoid, dynamic batch dimension'),
}

# Test fixtures (issue 16): deliberately bad models, written to compiler/zoo/fixtures/ and kept out
# of manifest.json so model selection never offers them. A model trained on shuffled labels has the
# shape, size and MACs of a good one and classifies at chance: what a quality canary must stop.
FIXTURES = {
    # name: (constructor, epochs, learning rate, description)
    'cnn-shuffled': (SmallCnn, 2, 2e-3, 'CNN conv8-conv16-dense trained on shuffled labels (a bad model, test fixture)'),
}

# export options per model: (do_constant_folding, dynamic batch)
EXPORT = {'lenet': (False, False), 'sigmlp': (True, True)}


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def train(name, out_dir, xtr, ytr, xte, yte):
    ctor, epochs, lr, desc = MODELS[name] if name in MODELS else FIXTURES[name]
    if name in FIXTURES:
        # every image keeps a label, but a random one: the labels carry no information about the images
        ytr = ytr[torch.randperm(len(ytr), generator=torch.Generator().manual_seed(7))]
    torch.manual_seed(1234)
    model = ctor()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(xtr) + 127) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(42)
    t0 = time.time()
    c0 = time.process_time()  # CPU seconds: wall time is meaningless on a shared, loaded machine
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
        print(f'[{name}] epoch {epoch + 1}/{epochs} loss {loss.item():.3f} '
              f'({time.time() - t0:.0f}s)', file=sys.stderr, flush=True)
    acc = evaluate(model, xte, yte)
    params = sum(p.numel() for p in model.parameters())
    path = os.path.join(out_dir, f'{name}.onnx')
    exported = WithSoftmax(model).eval()
    folding, dynamic = EXPORT.get(name, (True, False))
    torch.onnx.export(
        exported, torch.zeros(1, 1, 28, 28), path, opset_version=13,
        input_names=['input'], output_names=['probabilities'], do_constant_folding=folding,
        dynamic_axes={'input': {0: 'batch'}, 'probabilities': {0: 'batch'}} if dynamic else None)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    ops = sorted({n.op_type for n in proto.graph.node})
    bad = [op for op in ops if op not in ALLOWED_OPS]
    if bad:
        raise RuntimeError(f'{name}: unsupported ops in export: {bad}')
    size = os.path.getsize(path)
    print(f'[{name}] float test accuracy {acc:.4f}, {params} params, {size} bytes, ops {ops}, '
          f'{time.time() - t0:.0f}s', file=sys.stderr, flush=True)
    return {
        'name': name, 'file': f'{name}.onnx', 'description': desc, 'floatAccuracy': round(acc, 4),
        'params': params, 'fileBytes': size, 'ops': ops, 'epochs': epochs,
        'trainSeconds': round(time.time() - t0, 1),
        'trainCpuSeconds': round(time.process_time() - c0, 1),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default='compiler/zoo/models')
    ap.add_argument('--only', default=','.join(MODELS))
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--fixtures', default=None,
                    help='train the test fixtures (%s) into this directory instead of the zoo' % ','.join(FIXTURES))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    xtr, ytr = load('train')
    xte, yte = load('test')
    if args.fixtures is not None:
        os.makedirs(args.fixtures, exist_ok=True)
        fixtures = [train(name, args.fixtures, xtr, ytr, xte, yte) for name in FIXTURES]
        with open(os.path.join(args.fixtures, 'fixtures.json'), 'w') as f:
            json.dump({'dataset': 'fashion-mnist', 'models': fixtures}, f, indent=2)
            f.write('\n')
        return
    manifest_path = os.path.join(args.out, 'manifest.json')
    entries = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            entries = {m['name']: m for m in json.load(f)['models']}
    for name in args.only.split(','):
        entries[name] = train(name, args.out, xtr, ytr, xte, yte)
    manifest = {
        'dataset': 'fashion-mnist',
        'input': {'name': 'input', 'shape': [1, 1, 28, 28], 'preprocessing': 'pixel / 255'},
        'output': {'name': 'probabilities', 'shape': [1, 10]},
        'labels': ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                   'Sneaker', 'Bag', 'Ankle boot'],
        'generator': 'scripts/train_zoo.py (torch %s, onnx %s, opset 13)' % (torch.__version__,
                                                                             onnx.__version__),
        'models': [entries[k] for k in MODELS if k in entries],
    }
    with open(manifest_path, 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
