"""The ``bench`` command line. One file per subcommand group, imported only when used.

Exit codes: 0 ok, 2 bad input or usage, 1 internal error. User errors print one line on stderr;
``--debug`` also prints the traceback. This module is the only place that catches BenchError.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
from dataclasses import dataclass

import click

from bench import __version__
from bench.config import BenchConfig, load_config
from bench.errors import BenchError
from bench.progress import set_quiet

logger = logging.getLogger(__name__)

# name -> "module:attribute"; each module defines one click command or group.
SUBCOMMANDS: dict[str, str] = {
    "info": "bench.cli.info:info",
    "data": "bench.cli.data:data",
    "evaluators": "bench.cli.evaluators:evaluators",
    "tasks": "bench.cli.tasks:tasks",
    "validate": "bench.cli.score:validate",
    "score": "bench.cli.score:score",
    "results": "bench.cli.results:results",
    "models": "bench.cli.models:models",
    "run": "bench.cli.run:run",
    "leaderboard": "bench.cli.leaderboard:leaderboard",
}


@dataclass
class CliState:
    """What every subcommand receives as ``ctx.obj``."""

    config: BenchConfig
    debug: bool = False


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, so ``bench --help`` stays fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in SUBCOMMANDS if self._module_exists(name))

    @staticmethod
    def _module_exists(name: str) -> bool:
        module_name = SUBCOMMANDS[name].split(":")[0]
        return importlib.util.find_spec(module_name) is not None

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SUBCOMMANDS or not self._module_exists(name):
            return None
        module_name, attr = SUBCOMMANDS[name].split(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="bench", message="%(prog)s %(version)s")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config file.")
@click.option("--home", type=click.Path(file_okay=False), help="Override BENCH_HOME for this call.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars, warnings only.")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, home: str | None, debug: bool, quiet: bool) -> None:
    """PoseBench: evaluate 3D human pose + language models on nine tasks.

    Run `bench COMMAND --help` for the options of each command.
    """
    logging.basicConfig(
        level=logging.DEBUG if debug else (logging.WARNING if quiet else logging.INFO),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    set_quiet(quiet)
    config = load_config(config_file)
    if home is not None:
        from pathlib import Path

        config = config.with_overrides(home=Path(home).expanduser())
    ctx.obj = CliState(config=config, debug=debug)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: runs the CLI and maps errors to exit codes."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="bench", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("error: aborted", err=True)
        return 1
    except click.ClickException as exc:  # usage errors: exit 2
        exc.show()
        return exc.exit_code
    except BenchError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        return 130
    except Exception as exc:  # a bug: exit 1, traceback only with --debug
        if debug:
            traceback.print_exc()
        first_line = " ".join(str(exc).split()) or type(exc).__name__
        click.echo(f"internal error: {type(exc).__name__}: {first_line} (run with --debug for the traceback)", err=True)
        return 1
    return 0
