"""PyTorch reference for `npm run bench:train`: the same llama decoder, batch and optimizer as the
ggml engine's benchmark, timed on the CPU. Prints one JSON line.

Model: token embedding, per block RMSNorm -> causal multi-head attention with interleaved-pair
RoPE (llama.cpp's "normal" mode) -> residual, RMSNorm -> SwiGLU MLP -> residual; final RMSNorm and
an untied output projection. Loss: next-token cross-entropy on a random 30% of positions (the rest
masked out, as prompt tokens are in SFT). AdamW, weight decay 0.1.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F
from torch import nn


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--vocab", type=int, default=100)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--ffn", type=int, default=768)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--precision", choices=["f32", "bf16"], default="f32",
                   help="bf16: CPU autocast (BF16 matrix products, F32 master weights), the counterpart of the engine's bf16")
    return p.parse_args()


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps) * self.weight


def rotate(x, cos, sin):
    # x [B, H, T, hd]; pairs (2i, 2i+1) rotate by angle pos * base^(-2i/hd).
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        d = a.d_model
        self.heads = a.heads
        self.attn_norm = RMSNorm(d)
        self.ffn_norm = RMSNorm(d)
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.gate = nn.Linear(d, a.ffn, bias=False)
        self.up = nn.Linear(d, a.ffn, bias=False)
        self.down = nn.Linear(a.ffn, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        hd = d // self.heads
        h = self.attn_norm(x)
        split = lambda y: y.view(b, t, self.heads, hd).transpose(1, 2)  # noqa: E731
        q = rotate(split(self.q(h)), cos, sin)
        k = rotate(split(self.k(h)), cos, sin)
        v = split(self.v(h))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(hd) + mask
        att = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.o(att)
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed = nn.Embedding(a.vocab, a.d_model)
        self.blocks = nn.ModuleList(Block(a) for _ in range(a.layers))
        self.norm = RMSNorm(a.d_model)
        self.output = nn.Linear(a.d_model, a.vocab, bias=False)
        hd = a.d_model // a.heads
        freqs = torch.outer(torch.arange(a.seq_len).float(), 10000.0 ** (-torch.arange(0, hd, 2).float() / hd))
        self.register_buffer("cos", freqs.cos())
        self.register_buffer("sin", freqs.sin())
        self.register_buffer("mask", torch.triu(torch.full((a.seq_len, a.seq_len), float("-inf")), diagonal=1))

    def forward(self, tokens):
        x = self.embed(tokens)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin, self.mask)
        return self.output(self.norm(x))


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Llama(a)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    tokens = torch.randint(0, a.vocab, (a.batch, a.seq_len))
    targets = torch.randint(0, a.vocab, (a.batch, a.seq_len))
    targets[torch.rand(a.batch, a.seq_len) > 0.3] = -100

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            logits = model(tokens)
        loss = F.cross_entropy(logits.float().view(-1, a.vocab), targets.view(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({
        "engine": f"pytorch {torch.__version__} ({a.precision})",
        "threads": a.threads,
        "ms_per_step": median * 1000,
        "tokens_per_sec": a.batch * a.seq_len / median,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "params": sum(p.numel() for p in model.parameters()),
    }))


if __name__ == "__main__":
    main()
