"""One process or many under ``torchrun``: the same training code either way."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

T = TypeVar("T")


@dataclass(frozen=True)
class Distributed:
    """This process's place in the run: rank, world size and the device it trains on."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def mean(self, value: float) -> float:
        """The mean of ``value`` over all processes."""
        if not self.active:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return float(tensor.item()) / self.world_size

    def share(self, value: Any) -> Any:
        """Rank 0's ``value`` on every process (it must pickle)."""
        if not self.active:
            return value
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    def on_main(self, work: Callable[[], T]) -> T | None:
        """``work()`` on rank 0 only: its result there, None on the other ranks. A ValueError or OSError in it
        stops every rank with rank 0's message (as a ValueError), so that none waits forever for rank 0."""
        result, error = None, ""
        if self.is_main:
            try:
                result = work()
            except (ValueError, OSError) as failure:
                error = str(failure)
        error = self.share(error)
        if error:
            raise ValueError(error)
        return result

    def wrap(self, model: nn.Module) -> nn.Module:
        """DistributedDataParallel around ``model`` when there are several processes."""
        if not self.active:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def close(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()


def start(device: str = "auto") -> Distributed:
    """Join the process group ``torchrun`` describes (WORLD_SIZE, RANK, LOCAL_RANK), or run alone.

    ``device``: auto (CUDA when present), cpu, or cuda. Several processes use NCCL on GPUs and
    Gloo on CPUs; each GPU process takes the GPU of its local rank.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise ValueError("--device cuda, but PyTorch sees no CUDA GPU")
    chosen = torch.device("cuda", local_rank % max(torch.cuda.device_count(), 1)) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(chosen)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Distributed(rank, world, chosen)
