"""The `prefect-videogen` command.

- `generate` makes one video (or every video of a manifest) from the terminal, with a live
  progress display; `--dry-run` only checks the request(s).
- `emulator` serves the local API emulator; `demo` runs the demo flows against one.
- `deployments init DIR` writes the deployment project (prefect.yaml, flow entrypoints).

Examples:
    prefect-videogen --version
    prefect-videogen generate "a red fox in fresh snow" --credentials videogen
    VIDEOGEN_BASE_URL=https://gateway.example/v1 VIDEOGEN_API_KEY=sk-... \\
        prefect-videogen generate "a red fox in fresh snow"
    prefect-videogen generate --manifest videos.jsonl --dry-run
    prefect-videogen emulator --port 8000 --dialect gateway --latency 5
    prefect-videogen demo --output-dir videos
    prefect-videogen spend videos
    prefect-videogen deployments init my-videogen-project
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "main"]


def flow_parameters(args: Sequence[str]) -> dict[str, Any]:
    """`name=value` arguments as flow parameters (values starting with { or [ are JSON).

    The entrypoint scripts in `flows/` use it to run a flow once from the shell.

    Example:
        ```python
        from prefect_videogen.cli import flow_parameters

        assert flow_parameters(["prompt=a fox", 'params={"seed": 7}']) == {
            "prompt": "a fox",
            "params": {"seed": 7},
        }
        ```
    """
    parameters: dict[str, Any] = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep:
            raise SystemExit(f"expected name=value, got {arg!r}")
        parameters[name] = json.loads(value) if value[:1] in "{[" else value
    return parameters


def _version() -> str:
    import platform

    from prefect_videogen import __version__

    try:
        from prefect import __version__ as prefect_version
    except ImportError:  # pragma: no cover - prefect is a dependency
        prefect_version = "not installed"
    return (
        f"prefect-videogen {__version__} (prefect {prefect_version}, "
        f"Python {platform.python_version()})"
    )


_GENERATE_EPILOG = """\
credentials:
  --credentials NAME uses a saved VideoGenCredentials block (default: the
  PREFECT_INTEGRATIONS_VIDEOGEN_CREDENTIALS_BLOCK setting, else "default").
  Or set VIDEOGEN_BASE_URL (or --base-url) and VIDEOGEN_API_KEY in the
  environment; the key is never taken from the command line (shell history).

examples:
  prefect-videogen generate "a red fox in fresh snow" --credentials videogen
  prefect-videogen generate "the cat turns its head" --image cat.png --seconds 5
  prefect-videogen generate "dawn to noon" --image dawn.png --last-frame noon.png \\
      --model wan2.2-kf2v-flash
  prefect-videogen generate --manifest videos.jsonl --max-concurrency 8 --dry-run

Running the same command again returns the stored video without paying again;
--attempt 1 generates it anew. Without PREFECT_API_URL, Prefect's temporary local
server is started first (10 to 40 s).
"""


class _VersionAction(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        print(_version())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `prefect-videogen`."""
    parser = argparse.ArgumentParser(
        prog="prefect-videogen",
        description=(
            "Generate videos through OpenAI-video-format APIs with Prefect: from the "
            "terminal, against a local emulator, or as deployments."
        ),
        epilog="Run `prefect-videogen COMMAND --help` for a command's options.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, nargs=0, help="print the version and exit"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_generate(commands)

    emulator = commands.add_parser(
        "emulator",
        help="serve the OpenAI-video-format emulator (renders real MP4s)",
        description="Serve the emulator at http://HOST:PORT/v1 until Ctrl-C.",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    emulator.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    emulator.add_argument(
        "--dialect",
        choices=("openai", "gateway", "seed"),
        default="openai",
        help="wire dialect (default openai)",
    )
    emulator.add_argument(
        "--latency", type=float, default=2.0, help="seconds from submit to completed (default 2)"
    )
    emulator.add_argument(
        "--api-key",
        default="sk-emulator",
        help="Bearer key clients must send (default: the documented emulator key)",
    )
    emulator.add_argument("--no-auth", action="store_true", help="accept requests without a key")
    emulator.add_argument("--fps", type=int, default=24, help="frames per second (default 24)")
    emulator.add_argument(
        "--render-scale", type=float, default=1.0, help="frame-size multiplier (default 1)"
    )
    emulator.add_argument(
        "--content-ttl", type=float, default=3600.0, help="seconds results stay downloadable"
    )
    emulator.add_argument(
        "--pad-content-to", type=int, default=None, help="pad each MP4 to this many bytes"
    )
    emulator.add_argument(
        "--content-dir", default=None, help="keep rendered files here (default: a temp dir)"
    )
    emulator.add_argument(
        "--max-image-bytes", type=int, default=10 * 1024 * 1024, help="largest input image"
    )
    emulator.add_argument(
        "--not-start-seconds",
        type=float,
        default=None,
        help="gateway: seconds a new task answers status 'unknown' (default: half the queue)",
    )
    emulator.add_argument(
        "--content-timeout",
        type=float,
        default=60.0,
        help="gateway: seconds before the /content proxy cuts a download (default 60)",
    )
    emulator.add_argument("--quiet", action="store_true", help="no access log, warnings only")
    emulator.add_argument(
        "--faults",
        default=None,
        help="FaultConfig as JSON, or @path to a JSON file",
    )

    demo = commands.add_parser(
        "demo",
        help="make three MP4s offline: a local emulator and Prefect's own server",
        description=(
            "Start the local API emulator (no key, no account) and Prefect's temporary "
            "local server, then run the text-to-video, image-to-video and keyframe-to-video "
            "flows. The MP4s (and a JSON record beside each) go under OUTPUT_DIR; their "
            "paths are printed. Needs prefect-videogen[emulator]; runs offline in about a "
            "minute, most of it Prefect's server starting."
        ),
    )
    demo.add_argument(
        "--output-dir", default="videos", help="where the videos go (default ./videos)"
    )

    spend = commands.add_parser(
        "spend",
        help="sum the estimated cost of stored videos by day and model",
        description="Sum the estimated_cost in the sidecar JSON files under PATH.",
    )
    spend.add_argument("path", help='a local folder or a saved storage block ("s3-bucket/videos")')
    spend.add_argument("--json", action="store_true", help="print the rows as JSON")
    deployments = commands.add_parser(
        "deployments",
        help="deployment project: prefect.yaml and the flow entrypoints",
        description="Work with the deployment project shipped with prefect-videogen.",
    )
    deployment_commands = deployments.add_subparsers(
        dest="deployments_command", required=True, metavar="COMMAND"
    )
    init = deployment_commands.add_parser(
        "init",
        help="write prefect.yaml, its setup script and the flow entrypoints into DIR",
        description=(
            "Copy the deployment project of the installed prefect-videogen into DIR: "
            "flows/ (one entrypoint per flow) and deployments/ (prefect.yaml, setup.py "
            "creating blocks, limits and the work pool, the guide, a sample manifest). "
            "Then, from DIR: `python deployments/setup.py --help` and "
            "`prefect --no-prompt deploy --all --prefect-file deployments/prefect.yaml`."
        ),
    )
    init.add_argument("directory", metavar="DIR", help="the project directory (created if missing)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    return parser


def _run_spend(args: argparse.Namespace) -> int:
    from prefect_videogen.costs import format_spend, summarize_spend
    from prefect_videogen.exceptions import InvalidRequestError

    try:
        rows = summarize_spend(args.path)
    except InvalidRequestError as exc:
        print(f"prefect-videogen spend: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=2) if args.json else format_spend(rows))
    return 0


def _add_generate(commands: Any) -> None:
    generate = commands.add_parser(
        "generate",
        help="generate one video, or every video of a manifest, with a progress display",
        description=textwrap.fill(
            "Generate a video from PROMPT (text-to-video; image-to-video with --image; "
            "keyframes with --image and --last-frame), or every entry of --manifest, and "
            "store it. Bad input is reported, naming the field, before anything is paid for.",
            width=78,
        ),
        epilog=_GENERATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    generate.add_argument("prompt", nargs="?", help="what the video shows (not with --manifest)")
    generate.add_argument(
        "--manifest", help="a .jsonl or .csv file of videos to generate as one batch"
    )
    generate.add_argument("--model", help="the model (default: the flow's default model)")
    generate.add_argument("--seconds", type=int, help="duration (default: the model's)")
    generate.add_argument("--size", help="e.g. 1280x720 or 720P (default: the model's)")
    generate.add_argument(
        "--image", help="first frame: a file, an http(s) URL or a block path (type/name:path)"
    )
    generate.add_argument("--last-frame", help="last frame (keyframe video), like --image")
    generate.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model parameter (repeatable); VALUE is JSON when it parses as JSON",
    )
    generate.add_argument("--credentials", help="name of a saved VideoGenCredentials block")
    generate.add_argument(
        "--base-url",
        default=os.environ.get("VIDEOGEN_BASE_URL"),
        help="API root (default $VIDEOGEN_BASE_URL); the key comes from $VIDEOGEN_API_KEY",
    )
    generate.add_argument(
        "--storage",
        help="a directory, or a saved block as type-slug/name (default ./videos)",
    )
    generate.add_argument(
        "--attempt", type=int, default=0, help="0 reuses a stored video; 1, 2, ... make new ones"
    )
    generate.add_argument("--timeout", type=float, help="seconds to wait per video at most")
    generate.add_argument(
        "--max-concurrency", type=int, default=4, help="manifest: videos at once (default 4)"
    )
    generate.add_argument(
        "--allow-failures",
        action="store_true",
        help="manifest: store what succeeds and report the failures (exit status 1)",
    )
    generate.add_argument(
        "--dry-run", action="store_true", help="check the request(s) and print them; submit nothing"
    )
    generate.add_argument("--json", action="store_true", help="print the results as JSON")
    generate.add_argument(
        "--no-progress", action="store_true", help="plain log lines instead of the live display"
    )


def _faults(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("--faults must be a JSON object")
    return value


def _run_emulator(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from prefect_videogen.emulator import EmulatorConfig, serve

    try:
        config = EmulatorConfig(
            dialect=args.dialect,
            api_key=None if args.no_auth else args.api_key,
            latency=args.latency,
            fps=args.fps,
            render_scale=args.render_scale,
            content_ttl=args.content_ttl,
            pad_content_to=args.pad_content_to,
            content_dir=args.content_dir,
            max_image_bytes=args.max_image_bytes,
            not_start_seconds=args.not_start_seconds,
            content_timeout=args.content_timeout,
            faults=_faults(args.faults),
        )
    except (ValidationError, ValueError, OSError) as exc:
        print(f"prefect-videogen emulator: invalid settings: {exc}", file=sys.stderr)
        return 2
    auth = "off (--no-auth)" if config.api_key is None else "Bearer key required (--api-key)"
    print(
        f"prefect-videogen emulator: {config.dialect} dialect at "
        f"http://{args.host}:{args.port}/v1, latency {config.latency:g} s, "
        f"{config.fps} fps, auth {auth}. Stats: http://{args.host}:{args.port}/emulator/stats",
        flush=True,
    )
    serve(config, host=args.host, port=args.port, quiet=args.quiet)
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    try:
        from prefect_videogen.demo import run_demo
    except ImportError as exc:
        print(
            "prefect-videogen demo: the demo is not available "
            f"(prefect_videogen.demo could not be imported: {exc}). "
            "Check that prefect-videogen is fully installed.",
            file=sys.stderr,
        )
        return 1
    run_demo(output_dir=args.output_dir)
    return 0


# --------------------------------------------------------------------------------------
# generate


def _param_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _params(pairs: Sequence[str]) -> dict[str, Any] | None:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"prefect-videogen generate: --param expects KEY=VALUE, got {pair!r}")
        params[key] = _param_value(value)
    return params or None


def _entries(args: argparse.Namespace) -> tuple[list[dict[str, Any]], Path | None]:
    """The videos asked for, as batch entries, and the directory relative paths are read from."""
    if args.manifest:
        from prefect_videogen.flows import load_manifest

        path = Path(args.manifest).expanduser().resolve()
        return load_manifest(path), path.parent
    entry: dict[str, Any] = {"prompt": args.prompt}
    for key in ("model", "seconds", "size", "image", "last_frame"):
        if getattr(args, key) is not None:
            entry[key] = getattr(args, key)
    if params := _params(args.param):
        entry["params"] = params
    return [entry], None


def _check(entries: list[dict[str, Any]], base_dir: Path | None, attempt: int) -> list[Any]:
    """Validate every entry as the flows do (no network, nothing paid); the requests as
    their model family normalizes them (what would be sent)."""
    from prefect_videogen.caching import normalize_request
    from prefect_videogen.manifest import plan_entry

    default_model = _flow_default("model")
    return [
        normalize_request(
            plan_entry(
                entry,
                index,
                default_model=default_model,
                default_attempt=attempt,
                base_dir=base_dir if base_dir is not None else Path.cwd(),
            )[0]
        )[0]
        for index, entry in enumerate(entries)
    ]


def _flow_default(name: str) -> Any:
    import inspect

    from prefect_videogen.flows import text_to_video

    return inspect.signature(text_to_video.fn).parameters[name].default


def _credentials(args: argparse.Namespace) -> Any:
    if args.credentials:
        return args.credentials
    if args.base_url:
        from prefect_videogen.credentials import VideoGenCredentials

        key = os.environ.get("VIDEOGEN_API_KEY")
        if not key:
            raise SystemExit(
                "prefect-videogen generate: --base-url (or VIDEOGEN_BASE_URL) is set but "
                "VIDEOGEN_API_KEY is not; export the key, or pass --credentials BLOCK_NAME."
            )
        return VideoGenCredentials(base_url=args.base_url, api_key=key)
    return None  # the default block name


def _print_plan(requests: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(requests)} video(s) checked, nothing submitted")
    for column in ("#", "model", "mode", "seconds", "size", "prompt"):
        table.add_column(column)
    for index, request in enumerate(requests):
        summary = request.summary()
        table.add_row(
            str(index),
            str(summary.get("model")),
            str(summary.get("mode")),
            str(summary.get("seconds") or ""),
            str(summary.get("size") or ""),
            str(summary.get("prompt", ""))[:60],
        )
    Console(soft_wrap=False).print(table)


def _error(message: str) -> None:
    print(f"prefect-videogen generate: {message}", file=sys.stderr, flush=True)


def _run_generate(args: argparse.Namespace, echo: Callable[[str], None] = print) -> int:
    import asyncio

    from prefect_videogen._console import RunDisplay, start_prefect_api
    from prefect_videogen.exceptions import InvalidRequestError, VideoGenError

    if bool(args.prompt) == bool(args.manifest):
        raise SystemExit(
            "prefect-videogen generate: give a PROMPT or --manifest FILE (one of them)"
        )
    if args.last_frame and not args.image:
        raise SystemExit("prefect-videogen generate: --last-frame needs --image (the first frame)")
    entries, base_dir = _entries(args)
    try:
        requests = _check(entries, base_dir, args.attempt)
    except InvalidRequestError as exc:
        _error(f"invalid request, nothing submitted: {exc}")
        return 2
    if args.dry_run:
        _print_plan(requests)
        return 0

    from prefect_videogen import flows

    credentials = _credentials(args)
    start_prefect_api(lambda line: print(line, file=sys.stderr, flush=True))
    common: dict[str, Any] = {
        "credentials": credentials,
        "storage": args.storage,
        "attempt": args.attempt,
        "timeout": args.timeout,
    }
    try:
        with RunDisplay(live=False if args.no_progress else None):
            if args.manifest:
                results = asyncio.run(
                    flows.generate_batch(
                        manifest=args.manifest,
                        max_concurrency=args.max_concurrency,
                        allow_failures=args.allow_failures,
                        **common,
                    )
                )
            else:
                entry = entries[0]
                single = {k: entry[k] for k in ("model", "seconds", "size") if k in entry}
                single.update(prompt=entry["prompt"], params=entry.get("params"), **common)
                if args.image and args.last_frame:
                    flow = flows.keyframe_to_video
                    single.update(first_frame=args.image, last_frame=args.last_frame)
                elif args.image:
                    flow = flows.image_to_video
                    single.update(image=args.image)
                else:
                    flow = flows.text_to_video
                results = [flow(**single)]
    except InvalidRequestError as exc:
        _error(f"invalid request: {exc}")
        return 2
    except (VideoGenError, ExceptionGroup) as exc:
        _error(f"failed: {type(exc).__name__}: {exc}")
        return 1
    stored = [video for video in results if video is not None]
    if args.json:
        echo(json.dumps([video.model_dump(mode="json") for video in stored], indent=2))
    else:
        for video in stored:
            echo(f"{video.mode} {video.model} {video.job_id}: {video.location}")
    failed = len(results) - len(stored)
    if failed:
        _error(f"{failed} of {len(results)} video(s) failed; see the batch table artifact.")
    return 1 if failed else 0


# --------------------------------------------------------------------------------------
# deployments init


def project_files() -> Path:
    """The deployment project shipped with the package (`flows/` and `deployments/`).

    In an installed wheel it is `prefect_videogen/_project`; in a source checkout, the
    repository root (the top-level `flows/` and `deployments/` are the one source of truth;
    the wheel build copies them in).
    """
    packaged = Path(__file__).parent / "_project"
    if (packaged / "deployments" / "prefect.yaml").is_file():
        return packaged
    checkout = Path(__file__).parent.parent
    if (checkout / "deployments" / "prefect.yaml").is_file():
        return checkout
    raise FileNotFoundError(
        "the deployment project is not installed with this prefect-videogen "
        f"(looked in {packaged} and {checkout}); reinstall prefect-videogen from a wheel"
    )


def _init_project(directory: str, force: bool, echo: Callable[[str], None]) -> int:
    source = project_files()
    target = Path(directory).expanduser().resolve()
    files = [
        path
        for folder in ("flows", "deployments")
        for path in sorted((source / folder).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    ]
    existing = [
        target / p.relative_to(source) for p in files if (target / p.relative_to(source)).exists()
    ]
    if existing and not force:
        echo(
            f"prefect-videogen deployments init: {len(existing)} file(s) exist already "
            f"(e.g. {existing[0]}); pass --force to overwrite them."
        )
        return 1
    for path in files:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(path.read_bytes())
    echo(f"Wrote {len(files)} files under {target}:")
    for path in files:
        echo(f"  {path.relative_to(source)}")
    echo(
        "Next, from that directory:\n"
        "  python deployments/setup.py --help      # blocks, concurrency limits, work pool\n"
        "  prefect --no-prompt deploy --all --prefect-file deployments/prefect.yaml\n"
        "  prefect worker start --pool videogen-process --type process\n"
        "See deployments/README.md."
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `prefect-videogen` console script.

    Example:
        ```python
        from prefect_videogen.cli import main

        main(["generate", "a red fox in snow", "--dry-run"])  # checks, submits nothing
        ```
    """
    from prefect_videogen._extras import MissingExtraError

    args = build_parser().parse_args(argv)
    try:
        if args.command == "emulator":
            return _run_emulator(args)
        if args.command == "spend":
            return _run_spend(args)
        if args.command == "generate":
            return _run_generate(args)
        if args.command == "deployments":
            return _init_project(args.directory, args.force, print)
        return _run_demo(args)
    except MissingExtraError as exc:
        print(f"prefect-videogen {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
