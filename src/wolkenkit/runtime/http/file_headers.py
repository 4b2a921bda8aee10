"""The headers a stored file is served with, so that no uploaded content runs as a page of ours.

Files come from clients, and they are served from the origin of the APIs and ``/client/``: a
file that claims ``text/html``, or an SVG with a script, would run with that origin's rights
(stored XSS). So every file is served with

- ``X-Content-Type-Options: nosniff``: browsers take the content type as given and never guess
  an active one from the bytes;
- a sandboxing ``Content-Security-Policy``: should a browser render the file as a document after
  all, it runs in an opaque origin of its own, with no script, loading nothing;
- ``attachment`` unless its type is one of a few passive ones (images but SVG, audio, video,
  plain text, JSON, raw bytes), which stay ``inline`` as in the reference; PDF is among the
  active ones, as PDF viewers run scripts and refuse sandboxed documents anyway;
- its name as RFC 6266 says: a quoted ASCII fallback, and the exact name percent-encoded in
  ``filename*`` (RFC 8187), so that no name can add parameters of its own.

The content type and ``x-name`` stay as stored: the reference's clients read them.
"""

from __future__ import annotations

from urllib.parse import quote

from wolkenkit.files import FileMetadata

#: Inline styles only: browsers style the page they make around an image or a video with them.
SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'"

#: Types that browsers show without running anything: the only ones served ``inline``.
INLINE_TYPES = frozenset(
    {
        "application/json",
        "application/octet-stream",
        "text/plain",
        "image/apng",
        "image/avif",
        "image/bmp",
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/x-icon",
        "image/vnd.microsoft.icon",
    }
)
INLINE_FAMILIES = ("audio/", "video/")


def file_headers(metadata: FileMetadata) -> dict[str, str]:
    return {
        "x-id": metadata.id,
        "x-name": metadata.name,
        "content-type": metadata.content_type,
        "content-length": str(metadata.content_length),
        "content-disposition": content_disposition(metadata),
        "x-content-type-options": "nosniff",
        "content-security-policy": SANDBOX,
    }


def content_disposition(metadata: FileMetadata) -> str:
    disposition = "inline" if is_passive(metadata.content_type) else "attachment"
    # RFC 8187's attr-chars are letters, digits and !#$&+-.^_`|~; quote keeps fewer.
    encoded = quote(metadata.name, safe="")
    return f"{disposition}; filename=\"{_fallback(metadata.name)}\"; filename*=UTF-8''{encoded}"


def is_passive(content_type: str) -> bool:
    content_type = content_type.lower()
    return content_type in INLINE_TYPES or content_type.startswith(INLINE_FAMILIES)


def _fallback(name: str) -> str:
    """The name for clients that ignore ``filename*``: printable ASCII in a quoted string.
    Other characters become ``_``, and so does ``%``, which some clients decode (RFC 6266,
    appendix D)."""
    characters = (
        "_" if not " " <= character <= "~" or character == "%" else character for character in name
    )
    return "".join(characters).replace("\\", "\\\\").replace('"', '\\"')
