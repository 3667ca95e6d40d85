"""The ``inspkit`` command: one thin sub-command per verb.

Commands parse options, call one library function and render its result.
Heavy libraries are imported inside the commands, so ``inspkit --help``
answers at once.
"""

from __future__ import annotations

import os
import sys

import typer
from typer.core import TyperGroup

from inspkit import __version__
from inspkit.errors import InspkitError


class _Group(TyperGroup):
    """Turns every error into one clear line and a non-zero exit."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort):  # usage errors, --help, exits
            raise
        except InspkitError as exc:
            _fail(str(exc), exc.exit_code, exc)
        except KeyboardInterrupt as exc:
            _fail("interrupted; what was written so far is kept", 130, exc)
        except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
            _fail(f"internal error: {type(exc).__name__}: {exc} "
                  "(rerun with INSPKIT_DEBUG=1 for a traceback and report it)", 1, exc)
        return None


def _fail(message: str, code: int, exc: BaseException) -> None:
    if os.environ.get("INSPKIT_DEBUG") == "1":
        raise exc
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


app = typer.Typer(
    cls=_Group,
    name="inspkit",
    help="Deep-learning product inspection for factory lines: train, apply, manage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"inspkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Deep-learning product inspection for factory lines: train, apply, manage."""


def _register() -> None:
    from inspkit.cli import (augment, collect, connect, crop, expand, explain, init, label, models, predict,
                             review, sheet, simulate, status, train, update)

    for module in (init, status, collect, label, crop, augment, sheet, train, models, predict, explain, review,
                   update, connect, expand, simulate):
        module.register(app)


_register()


def main() -> None:
    """Console entry point."""
    sys.exit(app())
