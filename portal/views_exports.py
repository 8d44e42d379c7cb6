"""The one way a list is exported as a workbook: `export_response(request, kind)` writes a small
export in the request and queues a large one (portal.exports), showing the waiting page that
polls its state; the file is then downloaded from here by the user who asked, and 404 for
anyone else."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal import exports
from portal.badinput import bad_request
from portal.files import stored_file_response
from portal.scoping import forbidden, login_only
from portal.workbook import XLSX_CONTENT_TYPE, xlsx_response


def export_response(request, kind_name: str, params=None):
    """The export `kind_name` of the list the query string describes (or `params`): the file,
    or the page that waits for the worker to write it."""
    kind = exports.kind_get(kind_name)
    params = request.GET if params is None else params
    with exports.snapshot(kind):
        try:
            prepared = kind.prepare(request.user, params)
        except PermissionDenied as exc:
            return forbidden(request, str(exc))
        except ValidationError as exc:
            return bad_request(request, " ".join(exc.messages))
        if prepared.count <= exports.inline_max_rows():
            return xlsx_response(lambda stream: prepared.write(stream, exports.unchanged), prepared.filename)
    params = params.dict() if hasattr(params, "dict") else dict(params)
    try:
        token = exports.start(kind=kind, actor=request.user, params=params, prepared=prepared)
    except Exception as exc:  # noqa: BLE001 — Redis (the cache or the broker) is unreachable
        exports.log.warning("%s export not queued (%s)", kind.name, type(exc).__name__)
        token, state = "", {"status": "failed", "rows": prepared.count}
    else:
        state = exports.state_get(token, request.user)
    return render(request, "portal/export_pending.html", {"token": token, "state": state, "kind": kind})


def _state_or_404(request, token: str) -> dict:
    state = exports.state_get(token, request.user)
    if state is None:
        raise Http404(_("找不到该导出，或已过期。"))
    return state


@login_only
@require_GET
def export_status(request, token: str):
    """The htmx partial polled while a large export is written."""
    state = _state_or_404(request, token)
    return render(request, "portal/_export_status.html",
                  {"token": token, "state": state, "kind": exports.kind_get(state["kind"])})


@login_only
@require_GET
def export_download(request, token: str):
    state = _state_or_404(request, token)
    if state.get("status") != "done" or not default_storage.exists(state["path"]):
        raise Http404(_("找不到该导出，或已过期。"))
    return stored_file_response(state["path"], filename=state["filename"], content_type=XLSX_CONTENT_TYPE,
                                as_attachment=True)
