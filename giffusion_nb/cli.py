"""The `giffusion-nb` console script: render, demo, key-frame information, frame extraction,
benchmarks, and training and scoring the shapes model."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from giffusion_nb.bench.command import add_bench_parser, run_bench
from giffusion_nb.errors import SettingsError
from giffusion_nb.limits import MAX_PROMPTS_FILE_BYTES, loads_json, read_text_limited
from giffusion_nb.output.safe_paths import replace_file

EXIT_OK, EXIT_FAILURE, EXIT_USER_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as a shell reports a process ended by SIGTERM
DEMO_SETTINGS = {
    "model_id": "builtin:shapes-sd",
    "prompts": "0: a red circle\n12: a blue square\n24: a yellow star",
    "num_inference_steps": 20,
    "guidance_scale": 5.0,
    "height": 64,
    "width": 64,
    "batch_size": 4,
    "fps": 8,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="giffusion-nb", description="Key-framed prompts to GIFs and videos."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser("render", help="render settings to a GIF or MP4")
    render.add_argument("settings", nargs="?", type=Path, help="a settings.json file")
    runs = render.add_mutually_exclusive_group()
    runs.add_argument(
        "--resume", type=Path, metavar="RUN_DIR", help="render the missing frames of a run"
    )
    runs.add_argument(
        "--from-run", type=Path, metavar="RUN_DIR", help="render a saved run again, anew"
    )
    render.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="render on Ray workers (the `workers` setting, at least 1): a local instance, "
        "or the cluster at ADDRESS",
    )
    render.add_argument("--prompts", help="a file of `frame: prompt` lines (- for stdin)")
    render.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a setting (VALUE is read as JSON when it parses, else as text); repeatable",
    )
    _add_common(render)

    demo = commands.add_parser("demo", help="render a short GIF on the built-in model")
    _add_common(demo)

    keyframes = commands.add_parser(
        "keyframes", help="key-frame information of an audio or video file"
    )
    media = keyframes.add_mutually_exclusive_group(required=True)
    media.add_argument(
        "--audio", type=Path, help="print `N: timestamp: S.SS` lines at onsets, beats or bars"
    )
    media.add_argument(
        "--video", type=Path, help="print the frame count, fps and a prompts skeleton"
    )
    keyframes.add_argument(
        "--fps", default="10", help="frame rate (audio): 12, 29.97, 30000/1001 (exact)"
    )
    keyframes.add_argument(
        "--component", default="percussive", help="percussive, harmonic or both (audio)"
    )
    keyframes.add_argument(
        "--on",
        default="onsets",
        help="where the key frames go (audio): onsets, beats, '4 beats', bars, '2 bars', "
        "'2 bars of 3'",
    )
    keyframes.add_argument(
        "--prompts",
        help="a file of prompts (- for stdin), one a line or `N: prompt` lines, put on the "
        "key frames in order (audio); the key frames' times then go to stderr",
    )

    inspire = commands.add_parser("inspire", help="print key-framed prompts to start from")
    inspire.add_argument("--topics", default="", help='comma-separated, e.g. "a corgi, a lion"')
    inspire.add_argument("--fps", type=float, default=10.0, help="one prompt a second at this fps")
    inspire.add_argument("--seed", type=int, default=0, help="same seed and topics, same prompts")
    inspire.add_argument("--count", type=int, default=4, help="prompts without topics")
    inspire.add_argument("--model", help="a transformers text-generation model (Hub id or folder)")

    add_bench_parser(commands)

    shapes = commands.add_parser(
        "eval-shapes",
        help="score the shapes model: colour and shape accuracy, and a travel's colour track",
    )
    shapes.add_argument("--model", default="builtin:shapes-sd", help="model id or folder")
    shapes.add_argument("--samples", type=int, default=8, help="pictures per prompt")
    shapes.add_argument("--steps", type=int, default=25, help="denoising steps")
    shapes.add_argument("--guidance", type=float, default=5.0, help="guidance scale")
    shapes.add_argument("--seed", type=int, default=0, help="sample k uses seed + k")
    shapes.add_argument("--batch-size", type=int, default=16, help="pictures per batch")
    shapes.add_argument(
        "--travel", help="key-framed prompts to track (default: red circle to blue square)"
    )
    shapes.add_argument("--device", help="cpu, cuda, … (default: the GPU if any)")
    shapes.add_argument("--quiet", action="store_true", help="no progress bar")
    shapes.add_argument("--json", action="store_true", help="print one JSON object last")
    train = commands.add_parser(
        "train-shapes",
        help="train the shapes model (options: giffusion-nb train-shapes --help)",
        add_help=False,
    )
    train.add_argument("train_args", nargs=argparse.REMAINDER)

    frame = commands.add_parser("frame", help="extract one frame of a rendered GIF/MP4")
    frame.add_argument("output", type=Path, help="a rendered GIF or MP4")
    frame.add_argument("index", type=int, help="frame number, from 0")
    frame.add_argument("-o", "--out", type=Path, required=True, help="PNG to write")
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-dir", type=Path, default=Path("outputs"), help="runs go here")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: the GPU if any)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def parse_assignment(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` -> (name, value); VALUE is JSON when it parses (text settings stay text)."""
    from giffusion_nb.settings import is_text_setting

    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise SettingsError("--set", f"expected NAME=VALUE, got {text!r}")
    if is_text_setting(name):
        return name, raw
    try:
        return name, loads_json(
            raw, name
        )  # a 5000-digit number stays unconverted: coercion says so
    except (json.JSONDecodeError, RecursionError):
        return name, raw


def settings_from_args(args: argparse.Namespace):
    """Settings from the file (or a saved run), then the ``--set`` values, then the prompts."""
    from giffusion_nb.settings import Settings

    source = args.from_run or args.settings
    settings = Settings.load(source) if source else Settings()
    values = dict(parse_assignment(item) for item in args.values)
    settings.update(**values)
    if args.prompts:
        settings.update(prompts=_read_prompts(args.prompts))
    return settings


def _read_prompts(source: str) -> str:
    """The prompts file (``-``: standard input), refused unread beyond its size limit."""
    return read_text_limited(source, MAX_PROMPTS_FILE_BYTES, "--prompts")


def _run_render(settings, args: argparse.Namespace, resume: Path | None = None) -> int:
    from giffusion_nb.output.runs import check_output_dir
    from giffusion_nb.pipelines.devices import resolve_device
    from giffusion_nb.render.session import RenderSession

    device = resolve_device(args.device)
    check_output_dir(args.output_dir)
    session = RenderSession(settings, output_dir=args.output_dir, device=device)
    ray = None
    if getattr(args, "ray", None) is not None:
        from giffusion_nb.render.ray import RayOptions

        ray = RayOptions(address=args.ray or None)  # workers: the (run's) setting
    try:
        output = session.render(progress=not args.quiet, resume=resume, ray=ray)
    except SettingsError:
        raise
    except Exception:
        if session.run_dir:
            log = Path(session.run_dir).resolve() / "error.log"
            text = traceback.format_exc().encode("utf-8", "replace")
            with contextlib.suppress(OSError, SettingsError):  # a full disk: the error says it
                replace_file(log, lambda file: file.write(text), "output_dir")  # no link followed
                print(f"full traceback: {log}", file=sys.stderr)
        raise
    print(session.message, file=sys.stderr)
    if output is None:
        return EXIT_INTERRUPTED if session.status == "stopped" else EXIT_FAILURE
    print(output)
    return EXIT_INTERRUPTED if session.status == "stopped" else EXIT_OK


def _keyframes(args: argparse.Namespace) -> int:
    if args.audio is not None:
        from giffusion_nb.keyframes.audio_keys import parse_key_source
        from giffusion_nb.media.beats import audio_keys
        from giffusion_nb.settings import coerce_value

        fps = coerce_value("fps", args.fps)
        source = parse_key_source(args.on, field="--on")
        prompts = None if args.prompts is None else _prompt_list(_read_prompts(args.prompts))
        keys = audio_keys(args.audio, fps, args.component, source, prompts)
        print(keys.text)
        print(keys.summary() + (f"; {keys.note}" if keys.note else ""), file=sys.stderr)
        if prompts is not None:
            from giffusion_nb.media.audio import format_key_frames

            print(format_key_frames(keys.key_frames), file=sys.stderr)
        return EXIT_OK
    from giffusion_nb.media.video import key_frame_text, video_info

    info = video_info(args.video)
    print(f"frames: {info.num_frames}")
    print(f"fps: {info.fps:g}")
    print(f"size: {info.width}x{info.height}")
    print(key_frame_text(info))
    return EXIT_OK


def _prompt_list(text: str) -> list[str]:
    """Prompts to assign: `N: prompt` lines in frame order, else one prompt a line."""
    from giffusion_nb.keyframes.audio_keys import prompt_texts

    try:
        return prompt_texts(text)
    except SettingsError:
        return [line for line in text.splitlines() if line.strip()]


def _inspire(args: argparse.Namespace) -> int:
    from giffusion_nb.keyframes.inspiration import inspire

    result = inspire(
        args.topics, fps=args.fps, seed=args.seed, count=args.count, model_id=args.model
    )
    if result.message:
        print(result.message, file=sys.stderr)
    print(result.text)
    return EXIT_OK


def _eval_shapes(args: argparse.Namespace) -> int:
    from giffusion_nb.pipelines.devices import resolve_device
    from giffusion_nb.pipelines.load import load_pipeline
    from giffusion_nb.shapes import evaluate

    travel = args.travel or evaluate.TRAVEL
    first, last = evaluate.travel_colours(travel)
    pipe = load_pipeline(args.model, device=resolve_device(args.device))
    report = evaluate.evaluate_model(
        pipe,
        samples=args.samples,
        steps=args.steps,
        guidance=args.guidance,
        seed=args.seed,
        batch_size=args.batch_size,
        progress=not args.quiet,
    )
    print(evaluate.format_report(report))
    frames = evaluate.travel_frames(
        pipe, args.model, travel, steps=args.steps, guidance=args.guidance, seed=args.seed
    )
    tracks = {colour: evaluate.colour_track(frames, colour) for colour in (first, last)}
    print("travel:", " / ".join(travel.splitlines()))
    for colour, shares in tracks.items():
        print(evaluate.format_track(shares, colour))
    if args.json:
        figures = {
            "colour_accuracy": report.colour_accuracy,
            "shape_accuracy": report.shape_accuracy,
            "samples": report.count,
            "tracks": tracks,
        }
        print(json.dumps(figures))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 user error, 1 other failure, 130 stopped by
    Ctrl-C, 143 stopped by SIGTERM)."""
    with _sigterm_as_ctrl_c() as terminated:
        code = _main(argv)
    if terminated and code in (EXIT_INTERRUPTED, EXIT_FAILURE):
        return EXIT_TERMINATED
    return code


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[list[int]]:
    """SIGTERM (``kill``, a job scheduler's time limit) stops a command as Ctrl-C does: whatever
    it was doing (loading a model, rendering) ends cleanly, the frames done are written as an
    output, and a SIGTERM while that output is written waits for it as a Ctrl-C does. The list
    yielded notes that SIGTERM came."""
    terminated: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield terminated
        return

    def on_sigterm(signum: int, frame: object) -> None:
        terminated.append(signum)
        on_ctrl_c = signal.getsignal(signal.SIGINT)  # a writer may be deferring Ctrl-C now
        if callable(on_ctrl_c) and on_ctrl_c is not signal.default_int_handler:
            on_ctrl_c(signal.SIGINT, frame)
        else:  # the usual Ctrl-C, also where Ctrl-C is ignored (a job started with &)
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield terminated
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("render", "demo", "bench"):
        from giffusion_nb.pipelines.load import quiet_library_logs

        quiet_library_logs()
    try:
        if args.command == "demo":
            from giffusion_nb.settings import Settings

            return _run_render(Settings.from_dict(DEMO_SETTINGS), args)
        if args.command == "keyframes":
            return _keyframes(args)
        if args.command == "inspire":
            return _inspire(args)
        if args.command == "bench":
            return run_bench(args)
        if args.command == "eval-shapes":
            return _eval_shapes(args)
        if args.command == "train-shapes":
            from giffusion_nb.shapes.train import main as train_shapes

            return train_shapes(args.train_args)
        if args.command == "frame":
            from giffusion_nb.output.to_input import extract_frame

            out = args.out.expanduser()  # links in the folder the user names are theirs
            print(
                extract_frame(
                    args.output, args.index, out.parent.resolve() / out.name, target_field="--out"
                )
            )
            return EXIT_OK
        if args.resume is not None:
            if args.settings or args.values or args.prompts:
                raise SettingsError("--resume", "a resumed run keeps its own settings")
            return _run_render(None, args, resume=args.resume)
        return _run_render(settings_from_args(args), args)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)  # before a run began: nothing to keep
        return EXIT_INTERRUPTED
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def run() -> None:
    """The ``giffusion-nb`` command: ``main``, then exit with its code. A command stopped by
    Ctrl-C or SIGTERM ignores further presses while the interpreter shuts down (its output is
    written by then; a press would only print a traceback from an exit handler)."""
    code = main()
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    run()
