"""nasarena.bench (see DESIGN.md)."""
