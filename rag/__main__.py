"""``python -m rag`` is the ``rag`` command, which belongs to the application layer (``app.cli``).

It is looked up by name when this program starts, so no module of the library depends on the app.
"""

import importlib
import sys

sys.exit(importlib.import_module("app.cli").main())
