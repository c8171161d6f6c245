#!/usr/bin/python3
"""Builds the PyTorch reference values of tests/NeuralCore.Tests/TestData/torch.

Each case builds a small module with a fixed seed, runs it on fixed random inputs in float64, and writes one JSON file
with the module's state dict, the inputs and PyTorch's outputs (and gradients where a test checks them), every tensor
as {"shape": [...], "data": [...]} in row-major order.

Run with Debian 12's python3-torch (1.13.1):
    /usr/bin/python3 tools/torch-references/make_references.py tests/NeuralCore.Tests/TestData/torch
"""
import json
import os
import sys

import torch
import torch.nn as nn


def tensor(t):
    t = t.detach().to(torch.float64).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def state_dict(module):
    return {name: tensor(value) for name, value in module.state_dict().items()}


def write(out_dir, name, case):
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(case, f, separators=(",", ":"))


def mha_case(out_dir, name, seed, e, heads, kdim, vdim, batch_first, lq, lk, b, padding, attn_mask):
    torch.manual_seed(seed)
    mha = nn.MultiheadAttention(e, heads, kdim=kdim, vdim=vdim, batch_first=batch_first, dtype=torch.float64)
    # Non-zero biases, so their layout is checked too.
    with torch.no_grad():
        mha.in_proj_bias.uniform_(-0.5, 0.5)
        mha.out_proj.bias.uniform_(-0.5, 0.5)
    q_shape = (b, lq, e) if batch_first else (lq, b, e)
    k_shape = (b, lk, kdim or e) if batch_first else (lk, b, kdim or e)
    v_shape = (b, lk, vdim or e) if batch_first else (lk, b, vdim or e)
    query = torch.randn(q_shape, dtype=torch.float64, requires_grad=True)
    key = torch.randn(k_shape, dtype=torch.float64, requires_grad=True)
    value = torch.randn(v_shape, dtype=torch.float64, requires_grad=True)
    kpm = None
    if padding is not None:
        kpm = torch.zeros(b, lk, dtype=torch.bool)
        for i, length in enumerate(padding):
            kpm[i, length:] = True
    mask = None
    if attn_mask == "causal":
        mask = torch.ones(lq, lk, dtype=torch.bool).triu(1)
    out, avg = mha(query, key, value, key_padding_mask=kpm, attn_mask=mask, need_weights=True)
    _, per_head = mha(query, key, value, key_padding_mask=kpm, attn_mask=mask, need_weights=True, average_attn_weights=False)
    # A loss on both results, so the gradients flow through the returned weights as well as the output.
    weight_probe = torch.linspace(-1, 1, avg.numel(), dtype=torch.float64).reshape(avg.shape)
    loss = (out * out).sum() + (avg * weight_probe).sum()
    loss.backward()
    case = {
        "embed_dim": e, "num_heads": heads, "kdim": kdim or e, "vdim": vdim or e, "batch_first": batch_first,
        "state": state_dict(mha),
        "query": tensor(query), "key": tensor(key), "value": tensor(value),
        "key_padding_lengths": padding, "causal_attn_mask": attn_mask == "causal",
        "output": tensor(out), "weights_average": tensor(avg), "weights_per_head": tensor(per_head),
        "weight_probe": tensor(weight_probe),
        "grad_query": tensor(query.grad), "grad_key": tensor(key.grad), "grad_value": tensor(value.grad),
        "grads": {name: tensor(p.grad) for name, p in mha.named_parameters()},
    }
    write(out_dir, name, case)


def lstm_proj_case(out_dir, name, seed, input_size, hidden, proj, layers, bidirectional, batch_first, t, b, with_state):
    torch.manual_seed(seed)
    lstm = nn.LSTM(input_size, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first,
                   proj_size=proj, dtype=torch.float64)
    d = 2 if bidirectional else 1
    x = torch.randn((b, t, input_size) if batch_first else (t, b, input_size), dtype=torch.float64, requires_grad=True)
    state = None
    if with_state:
        h0 = torch.randn(layers * d, b, proj, dtype=torch.float64, requires_grad=True)
        c0 = torch.randn(layers * d, b, hidden, dtype=torch.float64, requires_grad=True)
        state = (h0, c0)
    out, (hn, cn) = lstm(x, state)
    loss = (out * out).sum() + (hn * torch.linspace(-1, 1, hn.numel(), dtype=torch.float64).reshape(hn.shape)).sum() + (cn * cn).sum()
    loss.backward()
    case = {
        "input_size": input_size, "hidden_size": hidden, "proj_size": proj, "num_layers": layers,
        "bidirectional": bidirectional, "batch_first": batch_first,
        "state": state_dict(lstm), "input": tensor(x), "output": tensor(out), "hn": tensor(hn), "cn": tensor(cn),
        "grad_input": tensor(x.grad),
        "grads": {n: tensor(p.grad) for n, p in lstm.named_parameters()},
    }
    if with_state:
        case.update({"h0": tensor(state[0]), "c0": tensor(state[1]), "grad_h0": tensor(state[0].grad), "grad_c0": tensor(state[1].grad)})
    write(out_dir, name, case)


def packed_case(out_dir, name, seed, kind, input_size, hidden, layers, bidirectional, batch_first, lengths, t):
    torch.manual_seed(seed)
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_relu": nn.RNN}[kind]
    extra = {"nonlinearity": "relu"} if kind == "rnn_relu" else {}
    rnn = cls(input_size, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, dtype=torch.float64, **extra)
    b = len(lengths)
    x = torch.randn((b, t, input_size) if batch_first else (t, b, input_size), dtype=torch.float64, requires_grad=True)
    packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    out_packed, state = rnn(packed)
    out, _ = nn.utils.rnn.pad_packed_sequence(out_packed, batch_first=batch_first, total_length=t)
    hn = state[0] if kind == "lstm" else state
    loss = (out * out).sum() + (hn * torch.linspace(-1, 1, hn.numel(), dtype=torch.float64).reshape(hn.shape)).sum()
    if kind == "lstm":
        loss = loss + (state[1] * state[1]).sum()
    loss.backward()
    case = {
        "kind": kind, "input_size": input_size, "hidden_size": hidden, "num_layers": layers, "bidirectional": bidirectional,
        "batch_first": batch_first, "lengths": lengths,
        "state": state_dict(rnn), "input": tensor(x), "output": tensor(out), "hn": tensor(hn),
        "grad_input": tensor(x.grad), "grads": {n: tensor(p.grad) for n, p in rnn.named_parameters()},
    }
    if kind == "lstm":
        case["cn"] = tensor(state[1])
    write(out_dir, name, case)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/NeuralCore.Tests/TestData/torch"
    os.makedirs(out_dir, exist_ok=True)
    mha_case(out_dir, "mha_kdim_vdim", seed=1, e=8, heads=2, kdim=5, vdim=3, batch_first=False, lq=4, lk=6, b=2,
             padding=[6, 4], attn_mask=None)
    mha_case(out_dir, "mha_kdim_batch_first_causal", seed=2, e=6, heads=3, kdim=4, vdim=None, batch_first=True, lq=5, lk=5, b=2,
             padding=None, attn_mask="causal")
    mha_case(out_dir, "mha_same_dim_weights", seed=3, e=8, heads=4, kdim=None, vdim=None, batch_first=True, lq=3, lk=5, b=2,
             padding=[5, 2], attn_mask=None)
    lstm_proj_case(out_dir, "lstm_proj_bidirectional", seed=4, input_size=3, hidden=5, proj=2, layers=2, bidirectional=True,
                   batch_first=False, t=4, b=2, with_state=True)
    lstm_proj_case(out_dir, "lstm_proj_batch_first", seed=5, input_size=4, hidden=6, proj=3, layers=1, bidirectional=False,
                   batch_first=True, t=5, b=3, with_state=False)
    packed_case(out_dir, "packed_lstm", seed=6, kind="lstm", input_size=3, hidden=4, layers=2, bidirectional=True,
                batch_first=False, lengths=[5, 2, 4], t=5)
    packed_case(out_dir, "packed_gru", seed=7, kind="gru", input_size=3, hidden=4, layers=1, bidirectional=True,
                batch_first=True, lengths=[3, 6], t=6)
    packed_case(out_dir, "packed_rnn_relu", seed=8, kind="rnn_relu", input_size=2, hidden=3, layers=2, bidirectional=False,
                batch_first=False, lengths=[1, 4, 3], t=4)


if __name__ == "__main__":
    main()
