"""Which key-frame images (``--image``) a render's family meets, by frame."""

from __future__ import annotations

from collections.abc import Sequence

from giffusion_nb.errors import SettingsError
from giffusion_nb.keyframes.prompts import KeyFrame
from giffusion_nb.pipelines.families import Family


def image_key_frames(
    key_frames: Sequence[KeyFrame], family: Family, painted: bool
) -> tuple[int, ...]:
    """The frames of the key frames with ``--image`` (all of them when the others are
    ``painted`` by a key-frame model), for a family that takes them; an error naming the line
    for one that does not."""
    if painted and not family.takes_key_frame_images:
        raise SettingsError(
            "key_frame_model",
            f"{family.name} takes no key-frame images to paint; choose a video pipeline whose "
            "call takes pictures (`image` and `last_image`, or `conditions`), or clear it",
        )
    frames = []
    for key_frame in key_frames:
        if key_frame.image is None:
            if painted:
                frames.append(key_frame.frame)
            continue
        if not family.takes_key_frame_images:
            raise SettingsError(
                "prompts",
                f"key frame {key_frame.frame} has an image, and {family.name} takes no "
                "key-frame images; remove `--image`, or choose a video pipeline whose call "
                "takes pictures (`image` and `last_image`, or `conditions`)",
                line=key_frame.line,
            )
        frames.append(key_frame.frame)
    return tuple(frames)
