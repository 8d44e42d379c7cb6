"""Bad input is a client error, never a 500.

`BadInputMiddleware` refuses, before any view runs, a request whose query string or form carries a NUL
byte (PostgreSQL cannot store one: the query would fail with a DataError) or an over-long value (no
filter or search box takes more than `PNEUMO_MAX_PARAMETER_LENGTH` characters). Values a view parses
(ids, dates, page numbers) go through `portal.params` or a form, which answer 400, 404 or a form
error; tests/security/test_bad_input.py fuzzes every parameter of every list."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def bad_request(request, message: str):
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": message}, status=400, json_dumps_params={"ensure_ascii": False})
    return render(request, "portal/bad_request.html", {"message": message}, status=400)


def _problem(request) -> str | None:
    limit = settings.PNEUMO_MAX_PARAMETER_LENGTH
    sources = [request.GET]
    if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                               "multipart/form-data"):
        sources.append(request.POST)
    for source in sources:
        for key, values in source.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return _("请求中含有无效字符（NUL），请检查输入。")
    for key, values in request.GET.lists():
        if len(key) > 100 or any(len(value) > limit for value in values):
            return _("查询条件过长（不超过 %(n)s 个字符），请缩短后重试。") % {"n": limit}
    return None


class BadInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if message := _problem(request):
            return bad_request(request, message)
        return self.get_response(request)
