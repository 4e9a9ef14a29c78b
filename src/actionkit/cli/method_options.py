"""Command-line flags generated from config dataclasses, and the config they give back.

Each field of a method's config (and of ``TrainerConfig``) becomes ``--field-name``; bools
become ``--x / --no-x``. Values are read by the field's type (``methods.config``). Precedence:
the method's defaults < ``--config FILE`` (a JSON object of option names) < flags < ``--set
key=value``. Unknown keys anywhere are one-line errors naming the file or flag.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from actionkit.checkpoint import read_json
from actionkit.methods.base import Method
from actionkit.methods.config import config_from_dict, field_types, parse_set, parse_value, split_overrides
from actionkit.train.trainer import TrainerConfig

METHOD, TRAIN = "method__", "train__"     # argparse dest prefixes of the generated flags
# Trainer fields that are not options of a method's training run (the device comes from --device).
NOT_FLAGS = {"device"}


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v:g}" for k, v in value.items())
    return str(value)


def add_config_flags(parser: argparse.ArgumentParser, cls: type, defaults: Any, prefix: str, title: str) -> None:
    """One flag per field of ``cls`` (help shows ``defaults``' value); unset flags stay absent."""
    group = parser.add_argument_group(title)
    meta = {f.name: f.metadata for f in dataclasses.fields(cls)}
    for name, kind in field_types(cls).items():
        if name in NOT_FLAGS and cls is TrainerConfig:
            continue
        flags = [f"--{name.replace('_', '-')}"] + ([meta[name]["alias"]] if "alias" in meta[name] else [])
        help_text = f"{meta[name].get('help', '')} (default: {_show(getattr(defaults, name))})".strip()
        if kind is bool:
            group.add_argument(*flags, dest=prefix + name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=help_text)
        else:
            group.add_argument(*flags, dest=prefix + name, default=argparse.SUPPRESS, metavar=name.upper(),
                               help=help_text)


def add_method_flags(parser: argparse.ArgumentParser, method: Method) -> None:
    parser.add_argument("--config", help="JSON file of option names and values (method and training)")
    parser.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="override any option (repeatable)")
    add_config_flags(parser, TrainerConfig, method.train_defaults, TRAIN, "training (defaults of this method)")
    add_config_flags(parser, method.config, method.config(), METHOD, f"{method.name} options")


def _flags(args: argparse.Namespace, cls: type, prefix: str) -> dict:
    types = field_types(cls)
    given = {k[len(prefix):]: v for k, v in vars(args).items() if k.startswith(prefix)}
    return {k: v if isinstance(v, bool) else parse_value(types[k], v, f"--{k.replace('_', '-')}")
            for k, v in given.items()}


def configs_from_args(args: argparse.Namespace, method: Method, device: str) -> tuple[Any, TrainerConfig]:
    """(the method's config, the trainer config) from defaults, --config, the flags and --set."""
    method_values, train_values = {}, {}
    if args.config:
        m, t = split_overrides(read_json(args.config), method.config, TrainerConfig, where=args.config)
        method_values.update(m)
        train_values.update(t)
    method_values.update(_flags(args, method.config, METHOD))
    train_values.update(_flags(args, TrainerConfig, TRAIN))
    m, t = split_overrides(parse_set(args.set, method.config, TrainerConfig), method.config, TrainerConfig,
                           where="--set")
    method_values.update(m)
    train_values.update(t)
    cfg = config_from_dict(method.config, method_values, args.config or "the command line")
    train = config_from_dict(TrainerConfig, {**dataclasses.asdict(method.train_defaults), **train_values,
                                             "device": device}, args.config or "the command line")
    return cfg, train
