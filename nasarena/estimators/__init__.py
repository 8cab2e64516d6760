"""nasarena.estimators (see DESIGN.md)."""
