from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models.expressions import RawSQL
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language

from portal import selectors, services, throttle
from portal.forms import (
    DevelopmentZoneForm,
    LoginForm,
    MembershipGrantForm,
    PasswordResetForm,
    PortalPasswordChangeForm,
    RegionUpdateForm,
    UserCreateForm,
    UserUpdateForm,
    apply_errors,
    call_service,
)
from portal.models import Membership, RegionLevel
from portal.params import parse_id
from portal.scoping import Capability, found_or_404, login_only, public, remember_memberships, requires


class LoginView(auth_views.LoginView):
    """Django's login, throttled (portal/throttle.py): a refused attempt is not even checked."""

    template_name = "portal/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = str(request.POST.get("username", ""))[:150]
        if refusal := throttle.check(request, username):
            response = render(request, "portal/locked_out.html", {
                "reason": refusal.reason, "minutes": max(1, -(-refusal.retry_after // 60)),
                "seconds": refusal.retry_after}, status=429)
            response["Retry-After"] = str(refusal.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        throttle.record_failure(self.request, str(form.data.get("username", ""))[:150])
        return super().form_invalid(form)

    def form_valid(self, form):
        throttle.record_success(form.get_user().get_username())
        return super().form_valid(form)


login = public(LoginView.as_view())
logout = public(auth_views.LogoutView.as_view())
password_change = login_only(auth_views.PasswordChangeView.as_view(
    template_name="portal/password_change.html", form_class=PortalPasswordChangeForm))
password_change_done = login_only(
    auth_views.PasswordChangeDoneView.as_view(template_name="portal/password_change_done.html")
)
language = public(set_language)


@public
def healthz(request):
    """Liveness: this process serves requests. Touches no database, no Redis: a dependency that is
    down must not get a healthy process restarted (that is what /readyz reports)."""
    return JsonResponse({"status": "ok"})


@public
def favicon(request):
    """Browsers ask for /favicon.ico on every site: the portal's icon, not a 404 in every log."""
    from django.templatetags.static import static

    return redirect(static("inspections/icon-192.png"), permanent=True)


@login_only
def home(request):
    """My work list (我的待办): what this user has to do next, sorted by deadline."""
    from worklist import selectors as worklist_selectors
    from worklist.views import remember_counts

    # "山东省聊城市东昌府区": the names along each region's path, in the memberships' query; the
    # national root is named only when it is the region itself, as Region.full_name does.
    full_name = RawSQL("SELECT string_agg(a.name, '' ORDER BY length(a.path)) FROM portal_region a "
                       "WHERE a.code = ANY(string_to_array(trim(trailing '/' FROM portal_region.path), '/')) "
                       "AND (a.level > 0 OR portal_region.level = 0)", [])
    memberships = list(worklist_selectors.with_liaison_flag(selectors.membership_list_for(request.user))
                       .annotate(region_full_name=full_name))
    if not memberships and not request.user.is_superuser:
        return render(request, "portal/no_access.html", status=403)
    remember_memberships(request.user, memberships)
    work = worklist_selectors.work_list(request.user, memberships=memberships)
    remember_counts(request.user, work.total)
    return render(request, "portal/home.html", {
        "memberships": [{"membership": m, "region_full_name": m.region_full_name} for m in memberships],
        "work": work,
    })


@requires(Capability.USERS_MANAGE)
def users(request):
    query = request.GET.get("q", "").strip()
    page = Paginator(selectors.user_list(actor=request.user, query=query), 30).get_page(request.GET.get("page"))
    return render(request, "portal/users.html", {"page": page, "query": query})


@requires(Capability.USERS_MANAGE)
def user_create(request):
    form = UserCreateForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        created, user = call_service(form, services.user_create, actor=request.user, **form.cleaned_data)
        if created:
            messages.success(request, _("已创建用户“%(name)s”。") % {"name": user})
            return redirect("user-detail", pk=user.pk)
    return render(request, "portal/user_form.html", {"form": form})


def _managed_user(request, pk: int):
    """A user the admin manages; one outside their scope is not found (as if it did not exist)."""
    return found_or_404(selectors.user_get, _("该用户不在您的管辖范围内。"), actor=request.user, pk=pk)


def _user_page(request, user, *, grant_form=None, update_form=None, password_form=None):
    return render(request, "portal/user_detail.html", {
        "managed": user,
        "can_manage": services.can_manage_user(request.user, user),
        "memberships": selectors.membership_list_for(user),
        "grant_form": grant_form or MembershipGrantForm(actor=request.user),
        "update_form": update_form or UserUpdateForm(initial={"display_name": user.display_name, "phone": user.phone}),
        "password_form": password_form or PasswordResetForm(),
    })


def _user_action(request, user, call, success: str, *, form=None, form_name: str = ""):
    """Run one action on the managed user and go back to its page with `success`; a refusal is
    shown on `form` when the action has one (else as a message) and the page is shown again."""
    if form is None or form.is_valid():
        try:
            call(**form.cleaned_data) if form is not None else call()
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            if form is None:
                messages.error(request, " ".join(exc.messages))
            else:
                apply_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect("user-detail", pk=user.pk)
    return _user_page(request, user, **({form_name: form} if form is not None else {}))


@requires(Capability.USERS_MANAGE)
@require_GET
def user_detail(request, pk: int):
    return _user_page(request, _managed_user(request, pk))


@requires(Capability.USERS_MANAGE)
@require_POST
def user_grant(request, pk: int):
    user = _managed_user(request, pk)
    return _user_action(request, user, lambda **data: services.membership_grant(actor=request.user, user=user, **data),
                        _("已授予岗位。"), form=MembershipGrantForm(request.POST, actor=request.user),
                        form_name="grant_form")


@requires(Capability.USERS_MANAGE)
@require_POST
def user_revoke(request, pk: int):
    user = _managed_user(request, pk)
    membership = get_object_or_404(Membership, pk=parse_id(request.POST.get("membership")), user=user)
    return _user_action(request, user, lambda: services.membership_revoke(actor=request.user, membership=membership),
                        _("已撤销岗位。"))


@requires(Capability.USERS_MANAGE)
@require_POST
def user_update(request, pk: int):
    user = _managed_user(request, pk)
    return _user_action(request, user, lambda **data: services.user_update(actor=request.user, user=user, **data),
                        _("已保存。"), form=UserUpdateForm(request.POST), form_name="update_form")


def _user_set_active(request, pk: int, is_active: bool, success: str):
    user = _managed_user(request, pk)
    return _user_action(request, user,
                        lambda: services.user_set_active(actor=request.user, user=user, is_active=is_active), success)


@requires(Capability.USERS_MANAGE)
@require_POST
def user_activate(request, pk: int):
    return _user_set_active(request, pk, True, _("已启用该账号。"))


@requires(Capability.USERS_MANAGE)
@require_POST
def user_deactivate(request, pk: int):
    return _user_set_active(request, pk, False, _("已停用该账号。"))


@requires(Capability.USERS_MANAGE)
@require_POST
def user_password(request, pk: int):
    user = _managed_user(request, pk)
    return _user_action(request, user,
                        lambda **data: services.user_reset_password(actor=request.user, user=user, **data),
                        _("已重置密码。"), form=PasswordResetForm(request.POST), form_name="password_form")


@requires(Capability.REGIONS_MANAGE)
def regions(request):
    parent = None
    if code := request.GET.get("parent"):
        parent = get_object_or_404(request.scope.region_queryset(), code=code)
    children = selectors.region_children(actor=request.user, capability=Capability.REGIONS_MANAGE, parent=parent)
    return render(request, "portal/regions.html", {
        "parent": parent,
        "breadcrumbs": selectors.region_breadcrumbs(parent) if parent else [],
        "children": children,
        "zone_form": DevelopmentZoneForm(actor=request.user, initial={"parent": parent}),
        "can_add_zone": parent is None or parent.level == RegionLevel.CITY,
    })


@requires(Capability.REGIONS_MANAGE)
@require_POST
def region_zone_create(request):
    form = DevelopmentZoneForm(request.POST, actor=request.user)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("regions")
    created, region = call_service(request, services.region_create, actor=request.user, level=RegionLevel.COUNTY,
                                   is_nonstandard=True, **form.cleaned_data)
    if not created:
        return redirect("regions")
    messages.success(request, _("已新增“%(name)s”。") % {"name": region.name})
    return redirect(f"{reverse('regions')}?parent={region.parent.code}")


@requires(Capability.REGIONS_MANAGE)
def region_edit(request, code: str):
    # Outside the admin's scope: 404, as if it did not exist (docs/ARCHITECTURE-NOTES.md).
    region = get_object_or_404(request.scope.region_queryset(), code=code)
    form = RegionUpdateForm(request.POST or None, actor=request.user, region=region,
                            initial={"name": region.name, "code": region.code, "parent": region.parent})
    if request.method == "POST" and form.is_valid():
        saved, _region = call_service(form, services.region_update, actor=request.user, region=region,
                                      **form.cleaned_data)
        if saved:
            messages.success(request, _("已保存区划“%(name)s”。") % {"name": region.name})
            return redirect(f"{reverse('regions')}?parent={region.parent.code}" if region.parent else "regions")
    return render(request, "portal/region_form.html", {"form": form, "region": region,
                                                        "breadcrumbs": selectors.region_breadcrumbs(region)})


@public
def readyz(request):
    """For compose healthchecks and a load balancer: can this node do its work? The database
    answers, Redis answers, Celery workers serve the default and the exports queue, and beat ran
    within 15 minutes (its dirty-rollup sweep runs every 5). 503 with the failing checks
    otherwise; no details beyond ok/failed, since the URL is public."""
    from portal.operations import readiness

    checks = readiness()
    ok = all(checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable",
                         "checks": {name: "ok" if passed else "failed" for name, passed in checks.items()}},
                        status=200 if ok else 503)


@public
def metrics(request):
    """Prometheus metrics, for the addresses in PNEUMO_METRICS_ALLOW (default: this host)."""
    from django.conf import settings
    from django.http import HttpResponse, HttpResponseForbidden

    from portal.operations import metrics_text

    if request.META.get("REMOTE_ADDR") not in settings.PNEUMO_METRICS_ALLOW:
        return HttpResponseForbidden()
    body, content_type = metrics_text()
    return HttpResponse(body, content_type=content_type)
