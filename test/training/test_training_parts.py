"""Training building blocks against their definitions: losses, augmentations, the poly schedule, the array cache."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from depth_anything_ros.model import family_of_network
from depth_anything_ros.model.da3.fused import Da3FusedModel
from depth_anything_ros.model.da3.network import Da3Model
from depth_anything_ros.model.da3.spec import tiny_da3_spec
from depth_anything_ros.model.da3.training import Da3TrainingNetwork
from depth_anything_ros.training.array_cache import ArrayCache
from depth_anything_ros.training.augment import (
    apply_cutmix,
    colour_jitter,
    cutmix_masks,
    gaussian_blur,
    partners,
    random_hflip,
)
from depth_anything_ros.training.loop import poly_factor
from depth_anything_ros.training.losses import affine_invariant_loss, feature_alignment_loss, silog_loss


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


def _ai_reference(pred: np.ndarray, target: np.ndarray) -> float:
    def norm(x):
        t = np.median(x)
        return (x - t) / (np.mean(np.abs(x - t)) + 1e-6)
    return float(np.mean(np.abs(norm(pred) - norm(target))))


def test_affine_invariant_loss_equals_its_definition_per_image():
    pred = torch.tensor([[[1.0, 2.0, 4.0], [3.0, 9.0, 0.5]], [[5.0, 5.0, 6.0], [1.0, 2.0, 3.0]]])
    target = torch.tensor([[[2.0, 1.0, 7.0], [3.0, 8.0, 1.0]], [[1.0, 4.0, 6.0], [2.0, 2.0, 3.0]]])
    mask = torch.tensor([[[True, True, True], [True, False, True]], [[True, True, False], [True, True, True]]])
    losses = affine_invariant_loss(pred, target, mask)
    for i in range(2):
        m = mask[i].numpy()
        expected = _ai_reference(pred[i].numpy()[m], target[i].numpy()[m])
        assert losses[i].item() == pytest.approx(expected, rel=1e-5)
    # invariant to each image's scale and shift of the label; zero when they agree up to them
    shifted = target * torch.tensor([3.0, 0.5]).view(2, 1, 1) + torch.tensor([1.0, -2.0]).view(2, 1, 1)
    assert torch.allclose(affine_invariant_loss(pred, shifted, mask), losses, rtol=1e-4)
    assert affine_invariant_loss(2 * target + 5, target, mask).max().item() < 1e-5
    assert affine_invariant_loss(pred, target, torch.zeros_like(mask)).tolist() == [0.0, 0.0]


def test_feature_alignment_ignores_patches_above_the_margin():
    frozen = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]])
    angles = torch.tensor([0.0, math.acos(0.9), math.acos(0.5), math.pi / 2])  # cosines 1, 0.9, 0.5, 0
    student = torch.stack([torch.cos(angles), torch.sin(angles)], -1).unsqueeze(0).requires_grad_(True)
    loss = feature_alignment_loss(student, frozen, margin=0.85)
    assert loss.item() == pytest.approx(((1 - 0.5) + (1 - 0.0)) / 2, rel=1e-5)  # only cos 0.5 and 0 count
    loss.backward()
    grad = student.grad[0].norm(dim=-1)
    assert grad[0] == 0 and grad[1] == 0 and grad[2] > 0 and grad[3] > 0
    assert feature_alignment_loss(frozen.clone(), frozen).item() == 0.0  # an unchanged encoder is free


def test_cutmix_regions_come_from_the_partner_with_its_label():
    generator = torch.Generator().manual_seed(3)
    masks = cutmix_masks(4, 20, 30, generator, p=1.0)
    fractions = masks.float().mean(dim=(1, 2))
    assert (fractions > 0).all() and (fractions < 1).all()
    images = torch.stack([torch.full((20, 30, 3), float(i)) for i in range(4)])
    labels = torch.stack([torch.full((20, 30), 10.0 * i) for i in range(4)])
    mixed = apply_cutmix(images, masks)
    partner = partners(4)
    assert partner.tolist() == [1, 2, 3, 0]
    for i in range(4):
        inside, outside = mixed[i][masks[i]], mixed[i][~masks[i]]
        assert (inside == float(partner[i])).all() and (outside == float(i)).all()
    target = torch.where(masks, labels[partner], labels)
    assert ((target / 10.0).unsqueeze(-1).expand_as(mixed) == mixed).all()  # each pixel's label matches its source
    assert not cutmix_masks(4, 20, 30, torch.Generator().manual_seed(3), p=0.0).any()


def test_colour_jitter_and_blur_perturb_within_range_and_repeat_with_the_seed():
    images = torch.randint(0, 256, (3, 16, 16, 3), generator=torch.Generator().manual_seed(0)).to(torch.uint8)
    a = gaussian_blur(colour_jitter(images, torch.Generator().manual_seed(1)), torch.Generator().manual_seed(2), p=1)
    b = gaussian_blur(colour_jitter(images, torch.Generator().manual_seed(1)), torch.Generator().manual_seed(2), p=1)
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 255 and not torch.allclose(a, images.float())
    flat = torch.full((1, 16, 16, 3), 100.0)
    assert torch.allclose(gaussian_blur(flat, torch.Generator().manual_seed(0), p=1.0), flat)  # blur keeps a flat image
    assert torch.equal(gaussian_blur(images, torch.Generator(), p=0.0), images.float())


@pytest.mark.parametrize("kind", ["metric", "any-view"])
def test_da3_training_network_is_the_fused_graph_without_sky(kind):
    torch.manual_seed(3)
    model = Da3Model(tiny_da3_spec(kind)).eval()
    network = family_of_network(model).training_network(model, (60, 90))
    assert isinstance(network, Da3TrainingNetwork) and network.net_hw == (336, 504)
    rng = np.random.default_rng(4)
    images = torch.from_numpy(rng.integers(0, 256, (2, 60, 90, 3), dtype=np.uint8))
    focal = torch.tensor([150.0, 300.0])
    net_h, net_w = network.net_hw  # K whose focal at the network input is ``focal``: fx' = fy' = focal
    k = torch.stack([torch.tensor([[f * 90 / net_w, 0, 45], [0, f * 60 / net_h, 30], [0, 0, 1]]) for f in focal])
    with torch.no_grad():
        out, tokens = network(images, features=True, k=k)
        fused = Da3FusedModel(model, (60, 90), "bgr").eval()
        head = torch.tensor([1.0, 0.0, 0.0, float("inf")])
        for i in range(2):
            raw, _ = fused(images[i], head, focal[i:i + 1])
            finite = torch.isfinite(raw)  # the graph's sky is +Inf; training keeps the network's depth there
            torch.testing.assert_close(out[i][finite], raw[finite], rtol=1e-4, atol=1e-5)
    assert out.shape == (2, 60, 90) and tokens.shape[0] == 2
    if kind == "metric":  # metres scale with each frame's own focal length
        with torch.no_grad():
            same = network(images[:1].expand(2, -1, -1, -1), k=k)
        torch.testing.assert_close(same[1], 2 * same[0])
        with pytest.raises(ValueError, match="camera K"):
            network(images)
    network.train()
    loss = network(images, k=k).mean()
    loss.backward()
    assert model.backbone.pretrained.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
