"""Comet ML tracking of a render: settings, prompts, sampled frames and the output file."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from giffusion_nb.output.safe_paths import check_real_folder

if TYPE_CHECKING:
    from PIL import Image

    from giffusion_nb.settings import Settings

T = TypeVar("T")

# Everything Comet would collect on its own is off: no code, git, console, environment or
# hardware-monitoring threads; only what the tracker logs explicitly goes into the experiment.
_EXPERIMENT_OPTIONS: dict[str, Any] = {
    "log_code": False,
    "log_graph": False,
    "auto_param_logging": False,
    "auto_metric_logging": False,
    "auto_log_co2": False,
    "parse_args": False,
    "auto_output_logging": False,
    "log_env_details": False,
    "log_env_gpu": False,
    "log_env_cpu": False,
    "log_env_host": False,
    "log_env_network": False,
    "log_env_disk": False,
    "log_git_metadata": False,
    "log_git_patch": False,
    "display_summary_level": 0,
}

_INSTALL_HINT = "install it with `pip install comet_ml`"


class CometTracker:
    """Logs a render to Comet ML; never stops or corrupts the render: the first failure is
    reported once (in `.warning`) and tracking turns itself off."""

    def __init__(
        self,
        *,
        frame_stride: int = 1,
        project_name: str = "giffusion-nb",
        workspace: str | None = None,
    ) -> None:
        if frame_stride < 1:
            raise ValueError(f"frame_stride must be at least 1, got {frame_stride}")
        self.frame_stride = frame_stride
        self.project_name = project_name
        self.workspace = workspace
        self.url = ""
        self.archive: Path | None = None
        self.warning = ""
        self.offline = False
        self._directory: Path | None = None
        self._experiment: Any = None

    @property
    def message(self) -> str:
        """Where the logged render went, for people; the failure message if tracking stopped."""
        if self.warning:
            return self.warning
        if self.archive is not None:
            return f"Comet (offline): archive at {self.archive}"
        if self.url:
            return f"Comet: {self.url}"
        return ""

    def start(
        self,
        settings: dict[str, Any],
        prompts: str,
        *,
        run_dir: Path,
        pipeline_class: str,
        model_id: str,
    ) -> None:
        """Open the experiment (offline into ``run_dir/comet`` without an API key) and log the
        settings, the prompts and the model."""
        directory = Path(run_dir) / "comet"
        self._directory = directory
        self._experiment = self._guarded(lambda: self._open_experiment(directory))
        self._log("set_name", Path(run_dir).name)
        self._log("log_parameters", _flat_parameters(settings))
        self._log("log_text", prompts)
        self._log("log_asset_data", prompts, name="prompts.txt")
        self._log("log_other", "pipeline_class", pipeline_class)
        self._log("log_other", "model_id", model_id)

    def log_frame(self, index: int, image: Image.Image) -> None:
        """Log frame ``index`` as an image when it falls on the frame stride."""
        if index % self.frame_stride == 0:
            self._log("log_image", image, name=f"frame-{index:04d}", step=index)

    def finish(self, output: Path | None, inputs: dict[str, str]) -> None:
        """Log the output file and the input file names, end the experiment and note where it
        went (``archive`` offline, ``url`` online)."""
        if output is not None and Path(output).is_file():
            self._log("log_asset", str(output), file_name=Path(output).name)
        for key, value in inputs.items():
            if value:
                self._log("log_other", key, Path(value).name)
        if self._experiment is None:
            return
        self._log("end")
        if self.offline and self._experiment is not None and self._directory is not None:
            directory = self._directory
            self.archive = self._guarded(lambda: _newest_zip(directory))
        self._experiment = None

    def _open_experiment(self, directory: Path) -> Any:
        """Import comet_ml and create an online experiment, or an offline one in ``directory``."""
        try:
            import comet_ml
        except ImportError as exc:
            raise ImportError(f"comet_ml is not available ({exc}); {_INSTALL_HINT}") from exc
        self.offline = _wants_offline(comet_ml)
        options = {
            "project_name": self.project_name,
            "workspace": self.workspace,
            **_EXPERIMENT_OPTIONS,
        }
        if self.offline:
            check_real_folder(directory, "comet")  # a link planted there is never followed
            return comet_ml.OfflineExperiment(offline_directory=str(directory), **options)
        experiment = comet_ml.Experiment(**options)
        self.url = str(experiment.url or "")
        return experiment

    def _log(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` on the experiment unless tracking has stopped."""
        experiment = self._experiment
        if experiment is None:
            return None
        return self._guarded(lambda: getattr(experiment, method)(*args, **kwargs))

    def _guarded(self, step: Callable[[], T]) -> T | None:
        """Run one Comet step; on any exception stop tracking instead of raising."""
        try:
            return step()
        except Exception as exc:
            self._stop(exc)
            return None

    def _stop(self, exc: Exception) -> None:
        """Keep the first failure as ``warning``, turn tracking off and end the experiment."""
        if not self.warning:
            self.warning = f"Comet logging stopped: {type(exc).__name__}: {exc}"
        experiment, self._experiment = self._experiment, None
        if experiment is not None:
            with contextlib.suppress(Exception):
                experiment.end()


def _wants_offline(comet_ml: Any) -> bool:
    """True when Comet is set to offline or no API key is configured."""
    if os.environ.get("COMET_MODE", "").strip().lower() == "offline":
        return True
    config = comet_ml.get_config()
    if config["comet.offline"] or config["comet.start.online"] is False:
        return True
    return not comet_ml.config.get_api_key(None, config)


def _newest_zip(directory: Path) -> Path | None:
    """The most recently written ``.zip`` file in ``directory``, if any."""
    archives = sorted(directory.glob("*.zip"), key=lambda path: path.stat().st_mtime)
    return archives[-1] if archives else None


def _flat_parameters(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with every non-scalar value (dicts, lists, paths…) as a JSON string."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if value is None or isinstance(value, str | int | float | bool):
            flat[key] = value
        else:
            flat[key] = json.dumps(value, default=str, sort_keys=True)
    return flat


def start_tracking(settings: Settings, run_dir: Path, pipeline_class: str) -> CometTracker:
    """A tracker that has logged the run's settings, prompts, pipeline class and model id."""
    tracker = CometTracker(frame_stride=settings.comet_frame_stride)
    tracker.start(
        settings.to_dict(),
        settings.prompts,
        run_dir=run_dir,
        pipeline_class=pipeline_class,
        model_id=settings.model_id,
    )
    return tracker


def finish_tracking(tracker: CometTracker, settings: Settings, output: Path | None) -> str:
    """Log the output and the media inputs' names, end the experiment; returns what to tell."""
    names = ("image_input", "video_input", "audio_input")
    tracker.finish(output, {name: getattr(settings, name) for name in names})
    return tracker.warning or tracker.message
