"""`python -m flightdeck` runs the CLI."""

from flightdeck.cli.main import main

main()
