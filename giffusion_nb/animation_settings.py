"""The settings of the animator's toolkit (perspective flip, colour coherence, cadence, frame
interpolation, seed behaviour, the init treatment), declared apart so ``settings.py`` stays one
job; ``Settings`` inherits them."""

from __future__ import annotations

from traitlets import HasTraits, Int, Unicode

from giffusion_nb.choices import (
    CADENCE_WARPS,
    COLOR_COHERENCE,
    COLOR_SPACES,
    FLOW_METHODS,
    SEED_BEHAVIORS,
    Choice,
)


class AnimationSettings(HasTraits):
    """The toolkit's settings (see the README's *The animator's toolkit*)."""

    perspective_flip_theta = Unicode(
        "",
        help="2D motion, Deforum's perspective flip (on when theta, phi or gamma is set): "
        "degrees per frame the picture turns in its plane, clockwise (as Deforum), e.g. `0: (1)`.",
    )
    perspective_flip_phi = Unicode(
        "",
        help="Perspective flip: degrees per frame the picture tilts about its horizontal axis "
        "(positive: the bottom edge comes nearer), between -90 and 90, e.g. `0: (2)`.",
    )
    perspective_flip_gamma = Unicode(
        "",
        help="Perspective flip: degrees per frame the picture turns about its vertical axis "
        "(positive: the right edge goes away), between -90 and 90, e.g. `0: (-2)`.",
    )
    perspective_flip_fv = Unicode(
        "",
        help="Perspective flip: the camera's field of view in degrees, above 0 and below 180 "
        "(empty: 53, Deforum's); wider exaggerates the perspective.",
    )
    color_coherence = Choice(
        COLOR_COHERENCE,
        "none",
        help="Keep colours from drifting: match each frame's colour histogram to frame 0 "
        "(first), to the frame before (previous, 2D motion only) or to color_coherence_image "
        "(image); none leaves frames as rendered.",
    )
    color_coherence_space = Choice(
        COLOR_SPACES,
        "lab",
        help="The colour space colour coherence matches histograms in: lab, hsv or rgb.",
    )
    color_coherence_image = Unicode(
        "", help="The image whose colours frames are matched to, with color_coherence `image`."
    )
    diffusion_cadence = Int(
        1,
        help="Diffuse every Nth frame (and the last); the frames between are their two "
        "diffused neighbours warped to them and blended by distance (N times fewer pipeline "
        "calls): along the 2D motion, or by optical flow (without motion). 1 diffuses every "
        "frame.",
    )
    cadence_warp = Choice(
        CADENCE_WARPS,
        "motion",
        help="How a cadence warps the diffused frames to the frames between: along the 2D "
        "motion (motion), or by the optical flow between the two diffused frames (flow; the "
        "only way without 2D motion).",
    )
    optical_flow = Choice(
        FLOW_METHODS,
        "dis",
        help="OpenCV's optical flow for cadence_warp `flow` and interpolate_frames: dis (DIS, "
        "fast) or farneback.",
    )
    interpolate_frames = Int(
        0,
        help="Optical-flow in-betweens put between each two rendered frames of the GIF/MP4, at "
        "that many times more frames/s, so every rendered frame keeps its time (a GIF plays at "
        "most 50 frames/s); the frames folder keeps the rendered frames.",
    )
    seed_behavior = Choice(
        SEED_BEHAVIORS,
        "iter",
        help="How the seed steps from frame to frame, as in Deforum; each key frame's noise "
        "takes its frame's seed: iter (seed + frame / seed_iter_n), fixed, random (drawn from "
        "the seed, the same every render), ladder (+2, -1), alternate (+1, -1), schedule "
        "(seed_schedule).",
    )
    seed_iter_n = Int(1, help="seed_behavior `iter`: the seed goes up by one every N frames.")
    seed_schedule = Unicode(
        "",
        help="seed_behavior `schedule`: each frame's seed as a key-frame string of whole "
        "numbers, e.g. `0: (7), 24: (99)`.",
    )
    noise_schedule = Unicode(
        "",
        help="2D motion: Gaussian noise added to each frame's init (the warped previous frame) "
        "after contrast and anti-blur, its standard deviation in the [-1, 1] sample scale "
        "(0.02 = 2.55 levels) as a key-frame string, drawn from the frame's seed; empty: none "
        "(Deforum's noise_schedule).",
    )
    contrast_schedule = Unicode(
        "",
        help="2D motion: each frame's init (the warped previous frame) multiplied by this "
        "factor, first, as a key-frame string (> 0; 1 = unchanged); empty: 1 (Deforum's "
        "contrast_schedule).",
    )
    anti_blur_amount = Unicode(
        "",
        help="2D motion: anti-blur, an unsharp mask on each frame's init after contrast: the "
        "init plus this amount times its difference from its Gaussian blur, as a key-frame "
        "string (0 = off); empty: off (Deforum's amount_schedule).",
    )
    anti_blur_sigma = Unicode(
        "",
        help="Anti-blur: the Gaussian's sigma in pixels (> 0) as a key-frame string; empty: 1 "
        "(Deforum's sigma_schedule).",
    )
    anti_blur_kernel = Unicode(
        "",
        help="Anti-blur: the Gaussian's kernel size in pixels, odd whole numbers, as a key-frame "
        "string; empty: 2·ceil(3·sigma)+1, 7 for sigma 1 (Deforum's kernel_schedule).",
    )
    anti_blur_threshold = Unicode(
        "",
        help="Anti-blur: pixels that differ from the blur by less than this many levels (0-255) "
        "stay unsharpened, as a key-frame string; empty: 0, every pixel (Deforum's "
        "threshold_schedule).",
    )
