"""Command-line surface. Modules here import only typer at the top; everything heavy is
imported inside commands so that ``flightdeck --help`` stays fast."""
