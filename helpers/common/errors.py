"""The error types of the package; each message says what was expected, what was received and the fix.

Every module may import this one: it imports nothing from the package.
"""

from __future__ import annotations


class InputError(ValueError):
    """A message, image, video or file that cannot be used; the message says what to fix.

    It is a ``ValueError``, so code that catches those keeps working.

    Example:
        >>> from helpers import check_messages
        >>> try:
        ...     check_messages([])
        ... except InputError as error:
        ...     print(error)
        messages must be a non-empty list of {'role': ..., 'content': ...} dicts, got list.
    """


class MissingInputError(InputError, FileNotFoundError):
    """An image, video or other input path that does not exist.

    It is both an :class:`InputError` and a ``FileNotFoundError``.

    Example:
        >>> from helpers.common.files import check_file
        >>> try:
        ...     check_file("no/such/photo.jpg", "image")
        ... except FileNotFoundError as error:
        ...     print(type(error).__name__, str(error)[:37])
        MissingInputError image not found: 'no/such/photo.jpg'.
    """


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message says why and what to do.

    Example:
        >>> import helpers
        >>> try:
        ...     helpers.load_model("/no/such/checkpoint", device="cpu", verbose=False)
        ... except ModelLoadError as error:
        ...     print(str(error).splitlines()[-1][:28])
        Fix: check the id or folder,
    """


class RemoteError(RuntimeError):
    """The server could not answer; the message names the server and what to do.

    ``partial`` holds the text that arrived before a stream broke off (else ``""``);
    ``status_code`` the server's HTTP status, where it sent one.

    Example:
        >>> import helpers
        >>> try:
        ...     helpers.serving.connect("http://127.0.0.1:9/v1", timeout_s=2)
        ... except RemoteError as error:
        ...     print(str(error)[:40])
        cannot reach the server at http://127.0.
    """

    def __init__(self, message: str, *, partial: str = "", status_code: int | None = None):
        super().__init__(message)
        self.partial, self.status_code = partial, status_code
