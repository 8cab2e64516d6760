"""nasarena.spaces (see DESIGN.md)."""
