#!/usr/bin/python3
"""Builds tests/NeuralCore.Tests/TestData/api-references.json: PyTorch's results for the everyday ops that the
C# tests compare against (transposed convolution, interpolation, einsum, stable sort, top-k, masked select).

Every case stores its inputs and results as flat float64 lists with their shapes. Inputs come from a fixed seed;
for the differentiable ops the case also stores a random output weighting g and PyTorch's gradients of sum(out * g).

Run with Debian 12's python3-torch (1.13.1):
    /usr/bin/python3 tools/pytorch-references/make_api_references.py tests/NeuralCore.Tests/TestData/api-references.json
"""
import json
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(20261208)
D = torch.float64


def t(x):
    return {"shape": list(x.shape), "data": [float(v) for v in x.detach().reshape(-1).tolist()]}


def rand(*shape):
    return torch.randn(tuple(shape), dtype=D)


def conv_transpose_case(name, x_shape, w_shape, stride, padding, output_padding, groups, dilation, bias=True):
    x = rand(*x_shape).requires_grad_()
    w = rand(*w_shape).requires_grad_()
    b = rand(w_shape[1] * groups).requires_grad_() if bias else None
    y = F.conv_transpose2d(x, w, b, stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
    g = rand(*y.shape)
    (y * g).sum().backward()
    case = {"name": name, "stride": list(stride), "padding": list(padding), "outputPadding": list(output_padding), "groups": groups,
            "dilation": list(dilation), "x": t(x), "w": t(w), "y": t(y), "g": t(g), "dx": t(x.grad), "dw": t(w.grad)}
    if bias:
        case["b"] = t(b)
        case["db"] = t(b.grad)
    return case


def interpolate_case(name, x_shape, mode, size=None, scale=None, align_corners=None):
    x = rand(*x_shape).requires_grad_()
    y = F.interpolate(x, size=size, scale_factor=scale, mode=mode, align_corners=align_corners)
    g = rand(*y.shape)
    (y * g).sum().backward()
    return {"name": name, "mode": mode, "size": list(size) if size else None, "scale": list(scale) if scale else None,
            "alignCorners": align_corners, "x": t(x), "y": t(y), "g": t(g), "dx": t(x.grad)}


def einsum_case(equation, *shapes):
    xs = [rand(*s).requires_grad_() for s in shapes]
    y = torch.einsum(equation, *xs)
    g = rand(*y.shape)
    (y * g).sum().backward()
    return {"equation": equation, "inputs": [t(x) for x in xs], "y": t(y), "g": t(g), "grads": [t(x.grad) for x in xs]}


def main(path):
    conv = [
        conv_transpose_case("stride2-pad1-outpad1", (2, 4, 3, 3), (4, 3, 3, 3), (2, 2), (1, 1), (1, 1), 1, (1, 1)),
        conv_transpose_case("groups2-mixed", (1, 4, 4, 5), (4, 3, 2, 3), (2, 1), (0, 1), (1, 0), 2, (1, 2)),
        conv_transpose_case("stride3-dil2-nobias", (2, 2, 2, 3), (2, 5, 3, 2), (3, 2), (1, 0), (2, 1), 1, (2, 1), bias=False),
    ]
    interp = [
        interpolate_case("nearest-size", (2, 3, 3, 4), "nearest", size=(5, 7)),
        interpolate_case("nearest-scale2", (1, 2, 3, 4), "nearest", scale=(2.0, 2.0)),
        interpolate_case("nearest-scale-1.5-0.5", (1, 2, 4, 6), "nearest", scale=(1.5, 0.5)),
        interpolate_case("bilinear-size", (2, 2, 3, 4), "bilinear", size=(5, 7), align_corners=False),
        interpolate_case("bilinear-size-aligned", (2, 2, 3, 4), "bilinear", size=(5, 7), align_corners=True),
        interpolate_case("bilinear-scale2", (1, 3, 3, 3), "bilinear", scale=(2.0, 2.0), align_corners=False),
        interpolate_case("bilinear-down", (1, 2, 5, 7), "bilinear", size=(2, 3), align_corners=False),
        interpolate_case("bilinear-down-aligned-one-row", (1, 2, 5, 7), "bilinear", size=(1, 3), align_corners=True),
    ]
    einsum = [
        einsum_case("ij,jk->ik", (3, 4), (4, 5)),
        einsum_case("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
        einsum_case("bhqd,bhkd->bhqk", (2, 3, 4, 5), (2, 3, 6, 5)),
        einsum_case("ii->i", (4, 4)),
        einsum_case("ii", (4, 4)),
        einsum_case("i,i->", (6,), (6,)),
        einsum_case("ij->ji", (3, 5)),
        einsum_case("ij,jk", (3, 4), (4, 2)),
        einsum_case("i,j->ij", (3,), (4,)),
        einsum_case("bij,jk->bik", (2, 3, 4), (4, 5)),
        einsum_case("ab,bc,cd->ad", (2, 3), (3, 4), (4, 5)),
        einsum_case("iij->j", (3, 3, 4)),
        einsum_case("ijk->", (2, 3, 4)),
        einsum_case("bn,anm,bm->ba", (2, 3), (4, 3, 5), (2, 5)),
    ]
    ties = torch.tensor([[3., 1., 2., 1., 3., 0., 2.], [5., 5., 5., 4., 4., 6., 4.]], dtype=D)
    sv, si = torch.sort(ties, dim=1, stable=True)
    svd, sid = torch.sort(ties, dim=1, descending=True, stable=True)
    distinct = rand(3, 8)
    tv, ti = torch.topk(distinct, 3, dim=1)
    tvs, tis = torch.topk(distinct, 2, dim=0, largest=False)
    x = rand(3, 4)
    mask = x > 0
    sort = {"ties": t(ties), "ascValues": t(sv), "ascIndices": t(si), "descValues": t(svd), "descIndices": t(sid),
            "distinct": t(distinct), "top3Values": t(tv), "top3Indices": t(ti), "bottom2Dim0Values": t(tvs), "bottom2Dim0Indices": t(tis),
            "maskInput": t(x), "maskedSelect": t(torch.masked_select(x, mask)), "maskedFill": t(x.masked_fill(mask, -7.5))}
    doc = {"generator": "tools/pytorch-references/make_api_references.py", "torch": torch.__version__,
           "convTranspose2d": conv, "interpolate": interp, "einsum": einsum, "sort": sort}
    with open(path, "w") as f:
        json.dump(doc, f)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
