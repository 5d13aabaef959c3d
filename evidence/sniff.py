"""The media type of an upload from its bytes, never from what the client claims."""

import filetype

TEXT_TYPES = {"text/plain", "text/csv"}


def sniff(data: bytes, filename: str) -> str:
    """Magic numbers first (filetype); UTF-8 text without them is text (CSV by extension)."""
    kind = filetype.guess(data)
    if kind is not None:
        return str(kind.mime)
    if data.lstrip().startswith(b"<?xml"):
        return "application/xml"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/csv" if filename.lower().endswith(".csv") else "text/plain"
