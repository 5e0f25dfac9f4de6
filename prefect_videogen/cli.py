"""The `prefect-videogen` command: `emulator` serves the local API, `demo` runs the demo flow.

Examples:
    prefect-videogen emulator --port 8000 --dialect gateway --latency 5
    prefect-videogen emulator --faults '{"create": {"rate_429": 0.2}, "seed": 3}'
    prefect-videogen demo --output-dir videos
    prefect-videogen spend videos
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `prefect-videogen`."""
    parser = argparse.ArgumentParser(
        prog="prefect-videogen",
        description="Prefect video generation tools: a local API emulator and a demo flow.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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

    demo = commands.add_parser("demo", help="run the demo flow against a local emulator")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `prefect-videogen` console script.

    Example:
        ```python
        from prefect_videogen.cli import main

        main(["emulator", "--port", "8000", "--dialect", "gateway"])  # serves until Ctrl-C
        ```
    """
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        return _run_emulator(args)
    if args.command == "spend":
        return _run_spend(args)
    return _run_demo(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
