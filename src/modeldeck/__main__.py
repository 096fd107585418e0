"""``python -m modeldeck``: the command line."""

from modeldeck.cli.main import main

main()
