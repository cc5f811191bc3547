"""An audio file checked before it is analysed: its header (length, sample rate), then its
samples decoded once (NaN or infinite samples are refused; a truncated file is used as far as it
decodes, and says so). Errors are ``SettingsError``s naming the setting and the file."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from giffusion_nb.errors import SettingsError
from giffusion_nb.media.audio_stream import NonFiniteSamples, decoded_frames, read_header

MAX_AUDIO_SECONDS = 30 * 60.0  # longer audio is refused: it would mean a huge animation
MIN_SAMPLE_RATE = 4_000  # below telephone quality (8 kHz) there are no onsets to find
MAX_SAMPLE_RATE = 384_000  # the highest rate studio files use
INPUT_FIELD = "audio_input"


@dataclass(frozen=True)
class DecodedAudio:
    """What an audio file holds: the seconds that decode, and the seconds its header gives."""

    path: Path
    duration: float
    header_duration: float

    @property
    def note(self) -> str:
        """A sentence when less decodes than the header says (a truncated file); else ''."""
        if self.duration >= self.header_duration - 1e-3:
            return ""
        return (
            f"{self.path.name} is truncated or damaged: {self.duration:.2f} s of its "
            f"{self.header_duration:.2f} s decode, and only those are used"
        )


def check_file(path: Path, field: str) -> None:
    """The path is a non-empty file."""
    if not path.is_file():
        raise SettingsError(field, f"expected an audio file, but there is no file {path}")
    if path.stat().st_size == 0:
        raise SettingsError(field, f"expected an audio file, but {path} is empty (0 bytes)")


def unreadable(path: Path, exc: BaseException, field: str) -> SettingsError:
    """The error for a file the decoder cannot read, with the decoder's first line."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SettingsError(
        field,
        f"expected an audio file (WAV, FLAC, OGG, MP3, AIFF...), but {path} could not be read: "
        f"{reason}",
    )


def audio_duration(
    path: str | Path, *, max_seconds: float = MAX_AUDIO_SECONDS, field: str = INPUT_FIELD
) -> float:
    """The audio's length in seconds, read from the file's header (the samples are not
    decoded); a ``SettingsError`` naming ``field`` for a file that is no audio, has no
    samples, a sample rate outside ``MIN_SAMPLE_RATE``..``MAX_SAMPLE_RATE`` or is too long."""
    path = Path(path).expanduser()
    check_file(path, field)
    try:
        header = read_header(path)
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise unreadable(path, exc, field) from exc
    if not MIN_SAMPLE_RATE <= header.sample_rate <= MAX_SAMPLE_RATE:
        raise SettingsError(
            field,
            f"{path} has a sample rate of {header.sample_rate} Hz; expected {MIN_SAMPLE_RATE} "
            f"to {MAX_SAMPLE_RATE} Hz (resample it, e.g. to 44100 Hz)",
        )
    if not header.frames > 0:
        raise SettingsError(
            field, f"expected audio samples, but {path} has none (truncated or header only?)"
        )
    if header.duration > max_seconds:
        raise SettingsError(
            field,
            f"expected at most {max_seconds:g} seconds of audio, but {path} lasts "
            f"{header.duration:.1f} s",
        )
    return header.duration


def decoded_audio(path: str | Path, field: str = INPUT_FIELD) -> DecodedAudio:
    """The file's header checked, then every sample decoded once (remembered until the file's
    size or time changes): a ``SettingsError`` naming ``field`` and the file for NaN or
    infinite samples, or for a file of which nothing decodes."""
    location = Path(path).expanduser()
    header_duration = audio_duration(location, field=field)
    stat = location.stat()
    return _decoded(location, field, header_duration, stat.st_size, stat.st_mtime_ns)


def audio_notes(path: str) -> tuple[str, ...]:
    """What a render should say about its audio input (how much of a truncated file it
    uses); nothing without one. Decodes the file once, raising its errors."""
    note = decoded_audio(path).note if path else ""
    return (note,) if note else ()


@functools.lru_cache(maxsize=16)
def _decoded(
    path: Path, field: str, header_duration: float, _size: int, _mtime_ns: int
) -> DecodedAudio:
    try:
        frames = decoded_frames(path)
        rate = read_header(path).sample_rate
    except NonFiniteSamples as exc:
        raise SettingsError(
            field,
            f"{path} holds samples that are not finite numbers (NaN or infinity), the first at "
            f"{exc.seconds:.2f} s; expected finite samples: export the audio again (e.g. as a "
            "16-bit WAV)",
        ) from None
    except (RuntimeError, OSError, ValueError) as exc:  # damaged after its header (libsndfile)
        raise unreadable(path, exc, field) from exc
    if frames == 0:
        raise SettingsError(
            field, f"expected audio samples, but none of {path} decodes (truncated or damaged?)"
        )
    return DecodedAudio(path, frames / rate, header_duration)
