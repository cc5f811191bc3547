"""Per-frame input images of a render: one still image or a streamed video, sized for the model."""

from __future__ import annotations

from PIL import Image

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.image import fit_image, fit_size, load_image
from giffusion_nb.media.video import VideoFrames


class FrameImages:
    """The input image of each output frame: the same still image, or frame i of a video.

    Images are centre-cropped to a multiple of the VAE scale factor; with an explicit
    ``size`` (width, height) they are then resized to it. A video is read as a stream.
    """

    def __init__(
        self,
        *,
        image_input: str = "",
        video_input: str = "",
        num_frames: int,
        multiple: int = 8,
        size: tuple[int | None, int | None] = (None, None),
    ) -> None:
        self._multiple = multiple
        self._still: Image.Image | None = None
        self._video: VideoFrames | None = None
        if video_input:
            self._video = VideoFrames(video_input)
            if len(self._video) < num_frames:
                self._video.close()
                raise SettingsError(
                    "video_input",
                    f"has {len(self._video)} frames but the prompts ask for {num_frames}; "
                    f"put the last key frame at {len(self._video) - 1} or earlier",
                )
            native = (self._video.info.width, self._video.info.height)
        else:
            self._still = load_image(image_input)
            native = self._still.size
        fitted = fit_size(*native, multiple)
        width, height = size
        self.size = (width or fitted[0], height or fitted[1])
        if self._still is not None:
            self._still = self._sized(self._still)

    def __getitem__(self, frame: int) -> Image.Image:
        if self._video is not None:
            return self._sized(self._video[frame])
        return self._still

    def close(self) -> None:
        if self._video is not None:
            self._video.close()

    def _sized(self, image: Image.Image) -> Image.Image:
        image = fit_image(image, self._multiple)
        if image.size != self.size:
            image = image.resize(self.size, Image.Resampling.LANCZOS)
        return image
