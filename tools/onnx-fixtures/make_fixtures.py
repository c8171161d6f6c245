#!/usr/bin/python3
"""Builds the PyTorch-exported ONNX fixtures of tests/NeuralCore.Onnx.Tests/TestData.

Each model is built with a fixed seed, put in evaluation mode (batch norms first see a few training batches so
their running statistics are not the defaults), exported with torch.onnx.export at opset 17 with a dynamic batch
dimension, and run on a fixed random input. The input and PyTorch's output are saved next to the model as raw
little-endian float32 (NAME.input.bin, NAME.output.bin) with their shapes in NAME.json.

Run with Debian 12's python3-torch (1.13.1) and python3-onnx:
    /usr/bin/python3 tools/onnx-fixtures/make_fixtures.py tests/NeuralCore.Onnx.Tests/TestData
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn


class LeNetLike(nn.Module):
    """LeNet-5 shaped for 1x28x28 inputs: conv 1->6 (5x5, pad 2), pool, conv 6->16 (5x5), pool, fc 400-32-10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(torch.tanh(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = torch.sigmoid(self.fc1(x))
        return self.fc2(x)


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 10))


def mlp_layernorm():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 12), nn.LayerNorm(12), nn.GELU(), nn.Linear(12, 10), nn.LogSoftmax(dim=1))


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1, stride=1, groups=2), nn.BatchNorm2d(8), nn.LeakyReLU(0.1), nn.AvgPool2d(2),
        nn.Conv2d(8, 8, 3, padding=2, dilation=2), nn.ELU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(8, 10), nn.Softmax(dim=1))


def export(name, model, out_dir, seed):
    torch.manual_seed(seed)
    model = model()
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 1, 28, 28))
    model.eval()
    torch.manual_seed(seed + 1000)
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=17, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, do_constant_folding=True)
    x.numpy().astype("<f4").tofile(os.path.join(out_dir, name + ".input.bin"))
    y.numpy().astype("<f4").tofile(os.path.join(out_dir, name + ".output.bin"))
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump({"input_shape": list(x.shape), "output_shape": list(y.shape),
                   "torch": torch.__version__, "opset": 17, "seed": seed}, f, indent=1)
    print(name, os.path.getsize(path), "bytes")


def encoder_layer():
    return nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.1, batch_first=True)


def export_sequence(name, model, out_dir, seed):
    """A sequence model on a [batch, sequence, features] input, both leading dimensions dynamic."""
    torch.manual_seed(seed)
    model = model()
    model.eval()
    torch.manual_seed(seed + 1000)
    x = torch.randn(3, 5, 16)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=17, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch", 1: "sequence"}, "output": {0: "batch", 1: "sequence"}},
                      do_constant_folding=True)
    x.numpy().astype("<f4").tofile(os.path.join(out_dir, name + ".input.bin"))
    y.numpy().astype("<f4").tofile(os.path.join(out_dir, name + ".output.bin"))
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump({"input_shape": list(x.shape), "output_shape": list(y.shape),
                   "torch": torch.__version__, "opset": 17, "seed": seed}, f, indent=1)
    print(name, os.path.getsize(path), "bytes")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out_dir, exist_ok=True)
    export("torch_mlp", mlp, out_dir, 1)
    export("torch_mlp_layernorm", mlp_layernorm, out_dir, 2)
    export("torch_cnn_bn", small_cnn, out_dir, 3)
    export("torch_lenet", LeNetLike, out_dir, 4)
    export_sequence("torch_transformer_encoder_layer", encoder_layer, out_dir, 5)


if __name__ == "__main__":
    main()
