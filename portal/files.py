"""The one way a stored file leaves the portal: a view that has already checked the owning
object's scope calls `stored_file_response`. Nothing under MEDIA_ROOT has a URL of its own.

Behind nginx (setting MEDIA_ACCEL_REDIRECT_PREFIX, an `internal` location aliased to MEDIA_ROOT)
the answer is an empty response with `X-Accel-Redirect`, and nginx streams the bytes; otherwise
Django streams the file itself with a FileResponse."""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse

# Types a browser may show inline; anything else is offered as a download.
INLINE_TYPES = {"image/jpeg", "image/png", "image/webp", "application/pdf"}


def stored_file_response(name: str, *, filename: str | None = None, content_type: str | None = None,
                         as_attachment: bool | None = None) -> HttpResponse:
    """`name` is the storage name (FieldFile.name). Raises Http404 when there is no file."""
    if not name or ".." in name.split("/") or name.startswith("/"):
        raise Http404
    content_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if as_attachment is None:
        as_attachment = content_type not in INLINE_TYPES
    filename = filename or name.rsplit("/", 1)[-1]
    prefix = getattr(settings, "MEDIA_ACCEL_REDIRECT_PREFIX", "")
    if prefix:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(name)
        disposition = "attachment" if as_attachment else "inline"
        response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    else:
        try:
            handle = default_storage.open(name, "rb")
        except (FileNotFoundError, OSError):
            raise Http404 from None
        response = FileResponse(handle, content_type=content_type, as_attachment=as_attachment, filename=filename)
    # A stored file is data, never a page: no sniffing, no scripts even if it were opened directly.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return response


def bytes_response(data: bytes, *, content_type: str, filename: str) -> HttpResponse:
    """For files kept in the database (the leader's signature): same headers as a stored file."""
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
