"""Training building blocks against their definitions: SiLog, flips, the poly schedule, the array cache."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from depth_anything_ros.training.array_cache import ArrayCache
from depth_anything_ros.training.augment import random_hflip
from depth_anything_ros.training.loop import poly_factor
from depth_anything_ros.training.losses import silog_loss


def test_silog_equals_its_definition_over_valid_pixels_only():
    pred = torch.tensor([[1.0, 2.0], [4.0, 100.0]])
    target = torch.tensor([[2.0, 2.0], [1.0, -5.0]])
    valid = torch.tensor([[True, True], [True, False]])
    d = np.log([2.0, 2.0, 1.0]) - np.log([1.0, 2.0, 4.0])
    expected = math.sqrt(np.mean(d ** 2) - 0.5 * np.mean(d) ** 2)
    assert silog_loss(pred, target, valid).item() == pytest.approx(expected, rel=1e-6)
    assert silog_loss(pred, target, valid, lambd=0.0).item() == pytest.approx(math.sqrt(np.mean(d ** 2)), rel=1e-6)


def test_silog_ignores_a_global_scale_at_lambda_one_and_is_a_differentiable_zero_without_pixels():
    pred = torch.tensor([1.0, 3.0, 7.0], requires_grad=True)
    target = 2.5 * pred.detach()
    assert silog_loss(pred, target, torch.ones(3, dtype=torch.bool), lambd=1.0).item() < 1e-3
    assert silog_loss(pred, target, torch.ones(3, dtype=torch.bool)).item() > 0.5  # lambda 0.5 keeps scale
    empty = silog_loss(pred, target, torch.zeros(3, dtype=torch.bool))
    empty.backward()
    assert empty.item() == 0.0 and torch.equal(pred.grad, torch.zeros(3))


def test_random_hflip_mirrors_images_and_depth_of_the_same_samples():
    images = torch.arange(4 * 2 * 3 * 3, dtype=torch.uint8).reshape(4, 2, 3, 3)
    depth = torch.arange(4 * 2 * 3, dtype=torch.float32).reshape(4, 2, 3)
    generator = torch.Generator().manual_seed(5)
    flipped_images, flipped_depth = random_hflip(images, depth, generator=generator)
    chosen = torch.rand(4, generator=torch.Generator().manual_seed(5)) < 0.5
    assert 0 < int(chosen.sum()) < 4  # the seed flips some samples and keeps others
    for i in range(4):
        expected_image = images[i].flip(1) if chosen[i] else images[i]
        expected_depth = depth[i].flip(1) if chosen[i] else depth[i]
        assert torch.equal(flipped_images[i], expected_image) and torch.equal(flipped_depth[i], expected_depth)
    assert torch.equal(images[0], torch.arange(18, dtype=torch.uint8).reshape(2, 3, 3))  # inputs untouched


def test_poly_schedule_decays_to_zero_with_power_0_9():
    assert poly_factor(0, 100) == 1.0
    assert poly_factor(50, 100) == pytest.approx(0.5 ** 0.9)
    assert poly_factor(100, 100) == 0.0 and poly_factor(120, 100) == 0.0


def test_array_cache_round_trips_and_treats_a_corrupt_file_as_a_miss(tmp_path):
    cache = ArrayCache(tmp_path)
    image = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    cache.put(("bag", "/camera", 17), image=image, depth=np.full((2, 2), np.nan, np.float32))
    got = cache.get(("bag", "/camera", 17))
    assert np.array_equal(got["image"], image) and np.isnan(got["depth"]).all()
    assert cache.get(("bag", "/camera", 18)) is None and ("bag", "/camera", 18) not in cache
    path = cache.path_for(("bag", "/camera", 17))
    path.write_bytes(path.read_bytes()[:40])  # an interrupted copy
    assert cache.get(("bag", "/camera", 17)) is None and not path.exists()
    assert not list(tmp_path.rglob(".*tmp*"))  # no temporary files left behind
