"""The settings of the animator's toolkit (colour coherence, cadence, frame interpolation,
seed behaviour), declared apart so ``settings.py`` stays one job; ``Settings`` inherits them."""

from __future__ import annotations

from traitlets import HasTraits, Unicode

from giffusion_nb.choices import COLOR_COHERENCE, COLOR_SPACES, Choice


class AnimationSettings(HasTraits):
    """The toolkit's settings (see the README's *The animator's toolkit*)."""

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
