"""Streaming frames out of an input video."""

from __future__ import annotations

import imageio_ffmpeg
import numpy as np
import psutil
import pytest

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.video import (
    VideoFrames,
    VideoInfo,
    iter_frames,
    key_frame_text,
    video_info,
)


def _write_video(path, frames, size, fps=12):
    writer = imageio_ffmpeg.write_frames(
        str(path), size, fps=fps, macro_block_size=1, ffmpeg_log_level="error"
    )
    writer.send(None)
    for frame in frames:
        writer.send(frame.tobytes())
    writer.close()
    return path


def _gray_frames(count, width=64, height=48):
    """Frame i is filled with gray level 10 * i."""
    for index in range(count):
        yield np.full((height, width, 3), 10 * index, dtype=np.uint8)


def _gray_level(image) -> int:
    """The frame number a gray frame encodes (the codec is lossy, so round)."""
    return round(float(np.asarray(image, dtype=np.float64).mean()) / 10)


@pytest.fixture(scope="module")
def gray_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "gray.mp4"
    return _write_video(path, _gray_frames(24), (64, 48))


def test_video_info(gray_video):
    assert video_info(gray_video) == VideoInfo(num_frames=24, fps=12.0, width=64, height=48)


def test_key_frame_text():
    assert key_frame_text(VideoInfo(num_frames=24, fps=12.0, width=64, height=48)) == "0: \n23: "


def test_frames_by_index_forwards_and_backwards(gray_video):
    with VideoFrames(gray_video) as frames:
        assert len(frames) == 24
        for index in [0, 1, 5, 5, 23, 3, 0, 12]:
            image = frames[index]
            assert image.mode == "RGB"
            assert image.size == (64, 48)
            assert _gray_level(image) == index


def test_repeated_index_returns_a_copy(gray_video):
    with VideoFrames(gray_video) as frames:
        first = frames[4]
        first.paste((255, 0, 0), (0, 0, 64, 48))
        assert _gray_level(frames[4]) == 4


def test_frames_resized(gray_video):
    with VideoFrames(gray_video, size=(32, 16)) as frames:
        image = frames[7]
    assert image.size == (32, 16)
    assert _gray_level(image) == 7


def test_index_out_of_range(gray_video):
    with VideoFrames(gray_video) as frames:
        with pytest.raises(IndexError, match="24 frames"):
            frames[24]
        with pytest.raises(IndexError):
            frames[-1]
        assert _gray_level(frames[2]) == 2


def test_closed_frames_reopen(gray_video):
    frames = VideoFrames(gray_video)
    assert _gray_level(frames[3]) == 3
    frames.close()
    assert _gray_level(frames[6]) == 6
    frames.close()


def test_iter_frames_in_order(gray_video):
    levels = [_gray_level(image) for image in iter_frames(gray_video)]
    assert levels == list(range(24))


@pytest.mark.parametrize("reader", [video_info, VideoFrames, iter_frames])
def test_missing_file(tmp_path, reader):
    with pytest.raises(SettingsError, match="no file") as info:
        reader(tmp_path / "nope.mp4", field="video_input")
    assert info.value.field == "video_input"


@pytest.mark.parametrize("reader", [video_info, VideoFrames, iter_frames])
def test_empty_file(tmp_path, reader):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(SettingsError, match="empty file") as info:
        reader(path, field="clip")
    assert info.value.field == "clip"


@pytest.mark.parametrize("reader", [video_info, VideoFrames, iter_frames])
def test_not_a_video(tmp_path, reader):
    path = tmp_path / "notes.mp4"
    path.write_text("just some text, not a video\n")
    with pytest.raises(SettingsError, match="expected a video file") as info:
        reader(path, field="video_input")
    assert info.value.field == "video_input"
    assert "notes.mp4" in str(info.value)


def test_truncated_video(tmp_path, gray_video):
    path = tmp_path / "cut.mp4"
    data = gray_video.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SettingsError) as info:
        video_info(path)
    assert info.value.field == "video_input"
    assert "cut.mp4" in str(info.value)


def test_audio_only_file(tmp_path):
    path = tmp_path / "tone.wav"
    rate = 8000
    samples = (np.sin(np.arange(rate) / 5) * 10000).astype("<i2").tobytes()
    header = b"".join(
        [
            b"RIFF",
            (36 + len(samples)).to_bytes(4, "little"),
            b"WAVEfmt ",
            (16).to_bytes(4, "little"),
            (1).to_bytes(2, "little"),  # PCM
            (1).to_bytes(2, "little"),  # mono
            rate.to_bytes(4, "little"),
            (rate * 2).to_bytes(4, "little"),
            (2).to_bytes(2, "little"),
            (16).to_bytes(2, "little"),
            b"data",
            len(samples).to_bytes(4, "little"),
        ]
    )
    path.write_bytes(header + samples)
    with pytest.raises(SettingsError, match="no video stream"):
        video_info(path)


def test_streaming_memory_does_not_grow_with_length(tmp_path):
    size = 128
    num_frames = 2000  # 2000 frames of 128x128 RGB are ~98 MB if all were kept

    def moving_bar():
        for index in range(num_frames):
            frame = np.zeros((size, size, 3), dtype=np.uint8)
            frame[:, index % (size - 8) : index % (size - 8) + 8] = 255
            yield frame

    path = _write_video(tmp_path / "long.mp4", moving_bar(), (size, size), fps=30)
    process = psutil.Process()

    def growth(images) -> float:
        """Peak RSS growth in MB while reading past the first 100 frames."""
        baseline = peak = 0
        count = 0
        for count, _image in enumerate(images, start=1):
            rss = process.memory_info().rss
            if count == 100:
                baseline = peak = rss
            peak = max(peak, rss)
        assert count == num_frames
        return (peak - baseline) / 2**20

    assert growth(iter_frames(path)) < 30
    with VideoFrames(path) as frames:
        assert growth(frames[index] for index in range(len(frames))) < 30
