"""``python -m inspkit`` runs the CLI."""

from inspkit.cli import main

main()
