"""nasarena.results (see DESIGN.md)."""
