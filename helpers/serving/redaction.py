"""Credentials never shown: URLs, headers, query values and JSON fields with secrets hidden."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

#: A secret in a header, query or JSON text: ``Authorization: Bearer x``, ``"api_key": "x"``, ...
#: (also URL-encoded: ``authorization%3A%20Bearer%20x``)
_SECRET_FIELD = re.compile(
    r"(?i)((?:authorization|proxy-authorization|api[-_]?key|access[-_]?token|refresh[-_]?token|"
    r"(?<![a-z])token|password|passwd|secret|signature|(?<![a-z])sig)"
    r"[\"']?\s*(?:[:=]|%3a|%3d)\s*(?:%20)*[\"']?)(?:(?:bearer|basic|token)(?:\s+|%20)+)?"
    r"[^\s\"',;}&%]+"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)(?:\s+|%20)+[A-Za-z0-9._~+/=-]{4,}")


def redact_url(url: str) -> str:
    """A URL safe to print: any user name and password, and every query value, replaced by ``***``.

    Args:
        url: A server URL, e.g. ``$QWEN_VL_BASE_URL``.

    Returns:
        The URL without its credentials (unchanged when it has none). Query values are hidden
        whatever their name: a server URL's query is where keys and signatures travel.

    Example:
        >>> redact_url("http://user:KEY@host:8000/v1")
        'http://***@host:8000/v1'
        >>> redact_url("https://host/v1?api_key=KEY&api-version=1")
        'https://host/v1?api_key=***&api-version=***'
    """
    parts = urlsplit(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2])
    if parts.query:
        names = [pair.partition("=")[0] for pair in parts.query.split("&")]
        parts = parts._replace(query="&".join(f"{name}=***" for name in names))
    return urlunsplit(parts)


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials a URL carries (user name, password, query values), to hide in any text.

    Args:
        url: A server URL.

    Returns:
        Each credential as written in the URL and decoded, four characters or longer.

    Example:
        >>> url_secrets("http://me:pa%2Fss@host/v1?key=abcd1234")
        ('pa%2Fss', 'pa/ss', 'abcd1234')
    """
    parts = urlsplit(url)
    found = [parts.username, parts.password]
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    values = []
    for value in found:
        for form in (value, unquote(value or "")):
            if form and len(form) >= 4 and form not in values:
                values.append(form)
    return tuple(values)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Hide credentials in a text a server sent back (it may echo headers in an error).

    Args:
        text: The text, e.g. an error body.
        secrets: Known secrets (the API key, URL passwords) to hide wherever they appear.

    Returns:
        ``text`` with each secret, URL credentials, ``Authorization`` headers, bearer tokens and
        ``api_key``/``password``/``token`` fields replaced by ``***``.

    Example:
        >>> redact("bad header: Authorization: Bearer sk-123456", ("sk-123456",))
        'bad header: Authorization: ***'
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = re.sub(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@", r"\1***@", text)
    text = _SECRET_FIELD.sub(r"\1***", text)
    return _BEARER.sub(r"\1 ***", text)
