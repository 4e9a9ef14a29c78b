"""``actionkit <command>``: the command line, one module per verb; each is a thin wrapper over the library."""

from __future__ import annotations

import argparse
import logging
import sys

from actionkit.cli import backbone, compare, data, demo, evaluate, probe, train


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="actionkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for verb in (data, backbone, probe, train, evaluate, compare, demo):
        verb.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from actionkit.data.manifest import ManifestError
    from actionkit.video.decode import VideoDecodeError
    from actionkit.world.generate import WorldConfigMismatch

    try:
        return args.func(args)
    except (ManifestError, VideoDecodeError, WorldConfigMismatch, FileNotFoundError, ValueError) as e:
        # ValueError covers bad arguments, ConfigMismatch and BaseMismatch (a checkpoint that does not fit)
        print(f"actionkit: error: {e}", file=sys.stderr)
        return 2


__all__ = ["build_parser", "main"]
