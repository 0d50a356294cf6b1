"""Helpers shared by the subcommand modules."""

from __future__ import annotations

import json
from typing import Any

import click

from bench.cli import CliState

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def state(ctx: click.Context) -> CliState:
    """The :class:`CliState` built by the ``bench`` group."""
    return ctx.find_root().obj


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def echo_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    """Print rows as a plain aligned text table."""
    if not rows:
        click.echo("(none)")
        return
    columns = columns or list(rows[0])
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


def parse_model_args(text: str | None, field: str = "--model-args") -> dict[str, Any]:
    """``"key=value,key2=value2"`` → ``{"key": value, ...}``.

    A value is read as JSON when it is a JSON number, ``true``/``false``/``null``, a quoted string,
    a list or an object (``max_tokens=64``, ``sample=true``, ``stop=["."]``); otherwise it is the
    plain string (``checkpoint=my.safetensors``). Commas inside quotes, brackets or braces do not
    split. ConfigError on an item without ``=``, an empty or repeated key, or broken JSON.
    """
    from bench.errors import ConfigError

    if not text:
        return {}
    items, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(text):
        if char == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char in "[{":
            depth += 1
        elif not quoted and char in "]}":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    args: dict[str, Any] = {}
    for item in (i.strip() for i in items):
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            raise ConfigError(f"expected key=value, got {item!r}", field=field)
        if key in args:
            raise ConfigError(f"key {key!r} given twice", field=field)
        args[key] = _model_arg_value(key, raw, field)
    return args


def _model_arg_value(key: str, raw: str, field: str) -> Any:
    from bench.errors import ConfigError

    looks_json = raw[:1] in '"[{-' or raw[:1].isdigit() or raw in ("true", "false", "null")
    if not looks_json:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        if raw[:1] in '"[{':
            raise ConfigError(f"value of {key!r} is not valid JSON: {raw!r}", field=field) from None
        return raw  # e.g. 1e-3x or 3d: a plain string that starts like a number
