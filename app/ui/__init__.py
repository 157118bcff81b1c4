"""The browser chat over an index: ``ui.app.build_app`` and ``ui.app.launch``."""
