"""`--set FIELD=VALUE`: change one setting of an experiment's config without editing code.

    lowdim-course run robust_sop --profile quick --set train.epochs=50 --set rates=0,0.4

A field is a path through the config's dataclasses (`train.lr`); a name that is a field of
exactly one nested dataclass may be given alone (`epochs` for `train.epochs`). Each value is
parsed to the type of the field it replaces (int, float, bool, str, or a tuple of these written
`a,b,c`) and the config is rebuilt through its own `__post_init__` checks, so an unknown field,
a value of the wrong type or an impossible value (a negative number of epochs, a schedule that
does not exist) stops with one line naming the field and what it accepts, before any training.

`apply` returns the new config and the overrides that really changed it, keyed by full path;
`key` turns those into the short hash that names the run's results and checkpoint folder
(`results/NAME/PROFILE-HASH/`), so runs of different settings never mix.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import hashlib
import json
import typing

from . import train


class OverrideError(ValueError):
    """A `--set` that names no field, has the wrong type or an impossible value."""


# Bounds of the training loop's settings, which TrainConfig does not check itself (every
# experiment's config that trains a network holds one); a config's own fields are checked by its
# `__post_init__`, where it has one.
TRAIN_BOUNDS = {
    "epochs": (lambda v: v >= 1, "a whole number >= 1"),
    "batch_size": (lambda v: v >= 1, "a whole number >= 1"),
    "lr": (lambda v: v > 0, "a number > 0"),
    "momentum": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "weight_decay": (lambda v: v >= 0, "a number >= 0"),
    "schedule": (lambda v: v in train.SCHEDULES, f"one of {', '.join(train.SCHEDULES)}"),
    "gamma": (lambda v: v > 0, "a number > 0"),
    "warmup_epochs": (lambda v: v >= 0, "a number >= 0"),
    "label_smoothing": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "crop_padding": (lambda v: v >= 0, "a whole number >= 0"),
    "checkpoint_every": (lambda v: v >= 0, "a whole number >= 0 (0: only at the end)"),
}


def fields(config, prefix: str = "") -> dict:
    """Every settable field of `config`: full path -> current value (nested dataclasses are
    walked into; their own paths are not settable as a whole)."""
    found = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            found |= fields(value, f"{prefix}{field.name}.")
        else:
            found[f"{prefix}{field.name}"] = value
    return found


def parse_assignment(text: str) -> tuple[str, str]:
    """'train.lr=0.05' -> ('train.lr', '0.05')."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise OverrideError(f"--set {text!r}: write FIELD=VALUE, e.g. --set train.epochs=50")
    return name.strip(), value.strip()


def resolve(config, name: str) -> str:
    """The full path of `name` in `config` (a unique leaf name stands for its path)."""
    known = fields(config)
    if name in known:
        return name
    leaves = [path for path in known if path.rsplit(".", 1)[-1] == name]
    if len(leaves) == 1:
        return leaves[0]
    kind = type(config).__name__
    if len(leaves) > 1:
        raise OverrideError(f"--set {name}: ambiguous in {kind}; write one of {', '.join(leaves)}")
    by_leaf = {path.rsplit(".", 1)[-1]: path for path in known}
    close = difflib.get_close_matches(name, list(known), n=3)
    close += [by_leaf[m] for m in difflib.get_close_matches(name, list(by_leaf), n=3)]
    close = list(dict.fromkeys(close))[:3]
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    raise OverrideError(
        f"--set {name}: {kind} has no field {name!r}{hint}; its fields: {', '.join(known)}"
    )


def _field_type(config, path: str):
    """The annotated type of the field at `path` (None where it cannot be resolved)."""
    *parents, leaf = path.split(".")
    for parent in parents:
        config = getattr(config, parent)
    try:
        return typing.get_type_hints(type(config)).get(leaf)
    except Exception:  # an annotation naming something the module does not import
        return None


def _scalar(text: str, like, path: str):
    """`text` as a value of the type of `like` (the field's current value)."""
    what = f"--set {path}={text}"
    if isinstance(like, bool):
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise OverrideError(f"{what}: {path} is true or false, not {text!r}")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise OverrideError(f"{what}: {path} is a whole number (now {like})") from None
    if isinstance(like, float):
        try:
            return float(text)
        except ValueError:
            raise OverrideError(f"{what}: {path} is a number (now {like})") from None
    if isinstance(like, str):
        return text[1:-1] if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"" else text
    try:  # no current value to follow (None, or an empty tuple's entries)
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_value(config, path: str, text: str):
    """The value `text` for the field at `path`, of that field's type."""
    current = fields(config)[path]
    if isinstance(current, (tuple, list)):
        inner = text.strip()
        if inner[:1] in "([" and inner[-1:] in ")]":
            inner = inner[1:-1]
        parts = [p.strip() for p in inner.split(",") if p.strip()]
        kinds = {type(v) for v in current}
        like = current[0] if len(kinds) == 1 else None
        if kinds == {int, float} or kinds == {float}:
            like = 0.0  # a tuple of numbers: rates=0,0.4 are floats
        value = tuple(_scalar(p, like, path) for p in parts)
        return list(value) if isinstance(current, list) else value
    if current is None:
        hint = _field_type(config, path)
        if hint in (int, float, str, bool):
            return _scalar(text, hint(), path)
        return None if text.lower() == "none" else _scalar(text, None, path)
    return _scalar(text, current, path)


def _replace(config, path: str, value):
    head, _, rest = path.partition(".")
    if rest:
        return dataclasses.replace(config, **{head: _replace(getattr(config, head), rest, value)})
    return dataclasses.replace(config, **{head: value})


def _check_train(config, path: str, value) -> None:
    *parents, leaf = path.split(".")
    owner = config
    for parent in parents:
        owner = getattr(owner, parent)
    if isinstance(owner, train.TrainConfig) and leaf in TRAIN_BOUNDS:
        ok, allowed = TRAIN_BOUNDS[leaf]
        if not ok(value):
            raise OverrideError(f"--set {path}={value}: {path} must be {allowed}")


def parse(config, assignments: list[str]) -> dict:
    """The 'FIELD=VALUE' strings of `assignments` as {full path: typed value}."""
    values = {}
    for text in assignments:
        name, raw = parse_assignment(text)
        path = resolve(config, name)
        values[path] = parse_value(config, path, raw)
    return values


def apply_values(config, values: dict) -> tuple[object, dict]:
    """`config` with each {full path: value} of `values` set, and the overrides that changed it
    ({full path: value}, sorted; a value equal to the config's own is dropped)."""
    new = config
    for path, value in values.items():
        path = resolve(config, path)
        _check_train(config, path, value)
        try:
            new = _replace(new, path, value)
        except (ValueError, TypeError, AssertionError) as err:  # the config's __post_init__
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise OverrideError(f"--set {path}={describe_value(value)}: {message}") from None
    before, after = fields(config), fields(new)
    changed = {path: after[path] for path in sorted(after) if after[path] != before[path]}
    return new, changed


def apply(config, assignments: list[str]) -> tuple[object, dict]:
    """`config` with every 'FIELD=VALUE' of `assignments` applied, and the overrides that
    changed it (`apply_values`)."""
    return apply_values(config, parse(config, assignments))


def key(overrides: dict) -> str:
    """A short hash of the overrides ('' for none): the suffix of the run's folder."""
    if not overrides:
        return ""
    text = json.dumps(_jsonable(overrides), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def variant(profile: str, overrides: dict) -> str:
    """The results folder's name under results/NAME/: the profile, with the overrides' hash."""
    return f"{profile}-{key(overrides)}" if overrides else profile


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def describe_value(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def describe(overrides: dict) -> str:
    """'train.epochs=2, width=16' (for messages)."""
    return ", ".join(f"{k}={describe_value(v)}" for k, v in overrides.items())
