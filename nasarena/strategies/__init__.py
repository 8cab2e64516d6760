"""nasarena.strategies (see DESIGN.md)."""
