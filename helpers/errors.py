"""The error types of the package; each message says what was expected, what was received and the fix.

Every module may import this one: it imports nothing from the package.
"""

from __future__ import annotations


class InputError(ValueError):
    """A message, image, video or file that cannot be used, with the fix in the text."""


class MissingInputError(InputError, FileNotFoundError):
    """An image, video or other input path that does not exist."""


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message says why and what to do."""


class RemoteError(RuntimeError):
    """The server could not answer; the message names the server and what to do."""
