"""An audio track put beside a finished video, cut or padded to the video's exact length."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg


def mux_audio(video: Path, audio: Path, seconds: Fraction, target: Path) -> None:
    """Write ``target``: ``video``'s stream as it is and ``audio`` in AAC, cut at ``seconds``
    (the video's frames / fps, exactly) or padded with silence up to it, so the MP4 lasts as
    long as its frames and keeps every one. (ffmpeg's ``-shortest`` while encoding cut the
    video at the audio's end and, with padding, let the audio run 0.4 s past a short video.)
    ``OSError`` with ffmpeg's first message when it fails."""
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-y",
        "-v",
        "error",
        "-i",
        str(video),
        "-i",
        str(audio),
        "-map",
        "0:v:0",
        "-map",
        "1:a:0",
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-af",
        "apad",
        "-t",
        f"{float(seconds):.6f}",
        "-f",
        "mp4",
        "-movflags",
        "+faststart",
        str(target),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        lines = result.stderr.strip().splitlines()
        reason = lines[0] if lines else f"exit status {result.returncode}"
        raise OSError(f"ffmpeg could not add the audio {audio} to {video.name}: {reason}")
