"""The generated reference in ``docs/reference/`` (``python -m meshcharts.docgen``).

Development tooling, not part of the runtime path: nothing the CLI runs imports this package.
"""

from meshcharts.docgen.pages import HEADER, generate, main

__all__ = ["HEADER", "generate", "main"]
