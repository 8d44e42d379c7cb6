"""Response headers that keep personal data out of caches and shut off browser features the
portal does not use. The Content-Security-Policy itself is django-csp's (settings
`CONTENT_SECURITY_POLICY`); this middleware adds what django-csp and Django do not."""

from django.utils.cache import add_never_cache_headers

# The portal uses none of these but geolocation: an inspector may let the tablet record where a
# photo was taken (the portal's own pages only). A photo is taken through the file input, which
# needs no camera grant.
PERMISSIONS_POLICY = ", ".join(
    [
        f"{feature}=()"
        for feature in (
            "accelerometer", "autoplay", "camera", "display-capture", "gyroscope", "magnetometer",
            "microphone", "midi", "payment", "publickey-credentials-get", "screen-wake-lock", "serial", "usb",
            "xr-spatial-tracking",
        )
    ]
    + ["geolocation=(self)"]
)


def must_not_be_stored(request, response) -> bool:
    """A page shown to a signed-in user (the roster, ID numbers, drafts), and every API answer."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    if request.path_info.startswith("/api/"):
        return True
    return response.get("Content-Type", "").split(";")[0].strip().endswith("json")


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if must_not_be_stored(request, response):
            # Replaces any max-age a view set: a shared browser must not keep a signed-in page.
            response.headers.pop("Cache-Control", None)
            response.headers.pop("Expires", None)
            add_never_cache_headers(response)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
