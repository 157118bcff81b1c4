"""The application layer: the ``rag`` command (``app.cli``) and the browser chat (``app.ui``), over the library."""
