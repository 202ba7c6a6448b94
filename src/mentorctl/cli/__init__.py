"""The Typer command-line layer: parses arguments, calls the core, prints with Rich."""
