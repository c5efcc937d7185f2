"""Status lines (model loaded, tiny checkpoint built): logged, never printed.

The package logs them under the ``helpers`` logger; the notebook or script chooses what to show
with ordinary ``logging`` configuration, or :func:`show_status` in one line.
"""

from __future__ import annotations

import logging
import sys

#: The logger every module of the package logs under (``helpers.<module>``).
LOGGER_NAME = "helpers"


def show_status(level: int | str = logging.INFO) -> logging.Handler:
    """Print the package's status lines at ``level`` and above on stdout, one plain line each.

    :func:`helpers.load_model` calls it when nothing else shows them (a plain notebook or script);
    configure ``logging`` yourself, or pass ``verbose=False``, to choose otherwise. Calling it again
    only changes the level: the package logger never gets a second handler.

    Args:
        level: The lowest level to show (``logging.INFO`` shows the status lines; ``"WARNING"``
            only problems).

    Returns:
        The handler writing the lines (remove it from ``logging.getLogger("helpers")`` to stop).

    Example:
        >>> import logging
        >>> handler = show_status()
        >>> logging.getLogger("helpers.loading").info("Loaded %s", "a model")
        Loaded a model
        >>> logging.getLogger("helpers").removeHandler(handler)
    """
    logger = logging.getLogger(LOGGER_NAME)
    handler = next((h for h in logger.handlers if h.get_name() == LOGGER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stdout)
        handler.set_name(LOGGER_NAME)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    return handler


def ensure_status_shown() -> None:
    """Make sure the package's status lines are shown, respecting ``logging`` already configured.

    Nothing configured (a plain notebook or script): :func:`show_status`. Handlers configured but
    info lines filtered out: the package logger's level is lowered to info for them.

    Example:
        >>> import logging
        >>> logger = logging.getLogger(LOGGER_NAME)
        >>> handlers, level = list(logger.handlers), logger.level
        >>> ensure_status_shown()
        >>> logger.isEnabledFor(logging.INFO)
        True
        >>> logger.handlers[:] = handlers
        >>> logger.setLevel(level)
    """
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.hasHandlers():
        show_status()
    elif not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)
