"""PyTorch Depth Anything networks (V1, V2: ``v2/``; Depth Anything 3: ``da3/``) behind one family seam.

Callers outside ``model/`` use only these names: ``family_of`` / ``family_of_network`` give the ``ModelFamily``
that loads, saves, fuses and trains a checkpoint; the specifications are plain data and import no torch, so the
node and the CLI's parser read them without torch.
"""

from depth_anything_ros.model.da3.spec import DA3_NAMES
from depth_anything_ros.model.family import family_of, family_of_network
from depth_anything_ros.model.family_base import (
    UNTRAINED_WARNING,
    CheckpointRequest,
    ModelFamily,
    TrainableParts,
    check_image_size,
)
from depth_anything_ros.model.v2.spec import (
    DEFAULT_INPUT_SIZE,
    ENCODERS,
    PATCH_SIZE,
    PRETRAIN_IMAGE_SIZE,
    EncoderSpec,
    ModelSpec,
    model_spec,
)

__all__ = ["DA3_NAMES", "DEFAULT_INPUT_SIZE", "ENCODERS", "PATCH_SIZE", "PRETRAIN_IMAGE_SIZE", "UNTRAINED_WARNING",
           "CheckpointRequest", "EncoderSpec", "ModelFamily", "ModelSpec", "TrainableParts", "check_image_size",
           "family_of", "family_of_network", "model_spec"]
