"""The settings of video models (motion adapters, windows and how they join, key frames painted
by an image model), declared apart so ``settings.py`` stays one job; ``Settings`` inherits them."""

from __future__ import annotations

from traitlets import HasTraits, Int, Unicode

from giffusion_nb.choices import VIDEO_JOINS, Choice


class VideoSettings(HasTraits):
    """The video models' settings (see the README's video sections)."""

    motion_adapter_id = Unicode(
        "",
        help="A MotionAdapter checkpoint (Hub id or folder) that turns an image model into a "
        "video model; its pipeline_class must take a motion adapter.",
    )
    key_frame_model = Unicode(
        "",
        help="An image model (Hub id, folder or builtin:…) that paints each key frame without "
        "its own `--image`, from its prompt and seed, for a video model that takes pictures "
        "(first and last frame, or conditions) to fill the frames between; empty: none.",
    )
    video_window = Int(
        None,
        allow_none=True,
        help="Video models render a window a call, whatever batch_size: the frames it denoises "
        "together (empty: the model's own: 16 for a motion module, else the call's default "
        "num_frames; a VAE that packs t frames a latent takes t·k+1 frames a call); 0: all in "
        "one call.",
    )
    video_overlap = Int(
        4, help="Video models: frames neighbouring windows share, to join smoothly."
    )
    video_join = Choice(
        VIDEO_JOINS,
        "overlap",
        help="How a video model's windows join: overlap: each denoises the frames it shares "
        "with its neighbours as context (windows independent: resumable one by one, parallel "
        "on Ray); condition: each window starts from the last frame of the one before, given "
        "to the model as a condition (one window after another; a pipeline that takes "
        "`conditions`).",
    )
