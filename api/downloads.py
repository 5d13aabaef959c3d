"""Headers for files handed out: a name every browser shows right, and no content sniffing.

File names come from uploads and may be in Kazakh or Russian; an HTTP header is Latin-1, so
the name goes twice (RFC 6266): an ASCII stand-in for old clients and the real name encoded
per RFC 5987 in `filename*`.
"""

import unicodedata
from typing import Literal
from urllib.parse import quote


def file_headers(filename: str, disposition: Literal["inline", "attachment"]) -> dict[str, str]:
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode().strip()
    ascii_name = ascii_name.replace('"', "_").replace("\\", "_") or "download"
    value = f'{disposition}; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return {"Content-Disposition": value, "X-Content-Type-Options": "nosniff"}
