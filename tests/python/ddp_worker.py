"""Trains a model built from actops.nn layers for a few steps with
DistributedDataParallel on 2 processes (gloo, loopback), and the same model in
one process on the whole batch; saves both parameter sets for the test
(tests/python/test_roads.py) to compare.

    python tests/python/ddp_worker.py OUT_FILE
"""

from __future__ import annotations

import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import actops

WORLD_SIZE = 2
STEPS = 3


def build_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 16),
        actops.nn.Swish(learnable=True, num_parameters=16),
        actops.nn.SwiGLU(16, 8),
        actops.nn.Maxout(8, 6, pieces=2),
        actops.nn.TReLU(threshold=0.0, alpha=0.1, learnable=True),
        actops.nn.GELU(),
        torch.nn.Linear(6, 1),
        actops.nn.Mish(),
    ).double()


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(16, 4, dtype=torch.float64, generator=generator)
    return x, x.sum(1, keepdim=True).sin()


def train(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(STEPS):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()


def worker(rank: int, port: int, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE)
    try:
        model = torch.nn.parallel.DistributedDataParallel(build_model())
        x, y = batch()
        shard = slice(rank * 8, (rank + 1) * 8)
        # each rank's mean loss on half the batch; DDP averages the gradients
        train(model, x[shard], y[shard])
        if rank == 0:
            single = build_model()
            train(single, x, y)
            torch.save(
                {
                    "ddp": [p.detach() for p in model.module.parameters()],
                    "single": [p.detach() for p in single.parameters()],
                },
                out,
            )
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    mp.spawn(worker, args=(free_port(), sys.argv[1]), nprocs=WORLD_SIZE, join=True)
