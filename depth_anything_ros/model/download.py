"""Fetch official Depth Anything V2 checkpoints from the Hugging Face hub (for users, never tests)."""

from __future__ import annotations

from pathlib import Path

from depth_anything_ros.model.da3.spec import DA3_NAMES, DA3_SPECS, da3_spec

HUB_SIZES = {"vits": "Small", "vitb": "Base", "vitl": "Large"}
METRIC_DATASETS = {"hypersim": ("Hypersim", 20.0), "vkitti": ("VKITTI", 80.0)}


def hub_location(encoder: str, metric: str | None = None) -> tuple[str, str]:
    """(repo id, file name) of an official V2 checkpoint."""
    if encoder not in HUB_SIZES:
        raise ValueError(f"official V2 checkpoints exist for {', '.join(HUB_SIZES)}, not {encoder!r}")
    size = HUB_SIZES[encoder]
    if metric is None:
        return f"depth-anything/Depth-Anything-V2-{size}", f"depth_anything_v2_{encoder}.pth"
    if metric not in METRIC_DATASETS:
        raise ValueError(f"metric checkpoints exist for {', '.join(METRIC_DATASETS)}, not {metric!r}")
    dataset = METRIC_DATASETS[metric][0]
    return (f"depth-anything/Depth-Anything-V2-Metric-{dataset}-{size}",
            f"depth_anything_v2_metric_{metric}_{encoder}.pth")


def download_checkpoint(encoder: str, metric: str | None, output_dir: Path) -> Path:
    """Download, then verify by a strict load into the matching architecture."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as error:
        raise ImportError("downloading needs huggingface_hub: pip install huggingface_hub") from error
    from depth_anything_ros.model.v2.build import build_model

    repo, filename = hub_location(encoder, metric)
    try:
        path = Path(hf_hub_download(repo_id=repo, filename=filename, local_dir=output_dir))
    except Exception as error:  # hub errors: offline, DNS, HTTP, missing file
        raise ConnectionError(
            f"could not download {filename} from huggingface.co/{repo}: {type(error).__name__}: {error}. "
            "Is the internet reachable? On an offline robot, copy the .pth file over and pass --checkpoint."
        ) from error
    max_depth = METRIC_DATASETS[metric][1] if metric else None
    build_model(path, encoder, 2, metric is not None, max_depth)
    return path


DA3_FILES = ("config.json", "model.safetensors")


def da3_hub_location(name: str) -> tuple[str, str]:
    """(repo id, weights licence) of an official DA3 checkpoint, e.g. ``depth-anything/DA3METRIC-LARGE``."""

    if name not in DA3_SPECS:
        raise ValueError(f"official DA3 checkpoints we serve: {', '.join(DA3_NAMES)}; not {name!r}")
    return f"depth-anything/{name.upper()}", DA3_SPECS[name].licence


def download_da3(name: str, output_dir: Path) -> tuple[Path, str]:
    """Download config.json + model.safetensors, verify by a strict load; (folder, licence)."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as error:
        raise ImportError("downloading needs huggingface_hub: pip install huggingface_hub") from error
    from depth_anything_ros.model.da3.checkpoint import load_da3

    repo, licence = da3_hub_location(name)
    folder = Path(output_dir) / name
    try:
        for filename in DA3_FILES:
            hf_hub_download(repo_id=repo, filename=filename, local_dir=folder)
    except Exception as error:  # hub errors: offline, DNS, HTTP, missing file
        raise ConnectionError(
            f"could not download {repo} from huggingface.co: {type(error).__name__}: {error}. "
            "On an offline robot, copy config.json + model.safetensors over and pass --checkpoint."
        ) from error
    load_da3(folder, da3_spec(name))
    return folder, licence
