"""The command line: typer apps that parse, call the library and render. No business logic here."""
