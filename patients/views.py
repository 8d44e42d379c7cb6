"""HTML views of the patient files; thin: parse, call a service or selector, render. Every
read of a file or of a full ID number is logged (services.access_log)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients import selectors, services
from patients.forms import FollowUpForm, MoveForm, PatientForm, RehabSiteForm, ReliefForm
from patients.models import AccessKind, LifeStatus, Patient, RehabSite, ReliefCategory, Stage
from portal.badinput import bad_request
from portal.forms import call_service
from portal.models import Department, Region
from portal.params import scoped_region_param
from portal.scoping import (
    RELIEF_DUTIES,
    Capability,
    forbidden,
    found_or_404,
    has_capability,
    relief_grants,
    requires,
    scope_for,
)
from portal.selectors import region_breadcrumbs

PAGE_SIZE = 30
C = Capability
NOT_FOUND = gettext_lazy("该患者不存在或不在您的管辖范围内。")
NOT_YOURS = gettext_lazy("该患者不在您的填报范围内。")


def stage_param(request) -> str | None:
    return selectors.stage_filter(request.GET.get("stage", ""))


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _rows(request, page, county_field="county"):
    """List rows with the ID number masked (lists never show it whole)."""
    return [{"patient": p, "id_number": selectors.masked(p.id_number)} for p in page.object_list]


@requires(C.PATIENT_VIEW)
def patient_list(request, overdue: bool = False):
    region = scoped_region_param(request.scope, "region", request.GET)
    if (stage := stage_param(request)) is None:
        return bad_request(request, _("期别只能是壹期、贰期或叁期"))
    filters = selectors.PatientFilters(
        query=request.GET.get("q", "").strip(), region=region, status=request.GET.get("status", ""),
        category=request.GET.get("category", ""), stage=stage, overdue=overdue,
        missing=request.GET.get("missing", ""))
    page = _page(request, selectors.patient_list(actor=request.user, filters=filters))
    focus = region or (request.scope.top_regions().first() if len(request.scope.regions) == 1 else None)
    return render(request, "patients/patient_list.html", {
        "page": page, "rows": _rows(request, page), "filters": filters, "region": region, "overdue": overdue,
        "breadcrumbs": region_breadcrumbs(region) if region else [],
        "children": Region.objects.filter(parent=focus).order_by("code") if focus is not None and focus.level < 4
        else [],
        "statuses": LifeStatus.choices, "categories": ReliefCategory.choices, "stages": Stage.choices,
        "can_edit": has_capability(request.user, C.PATIENT_EDIT),
        "can_read_log": has_capability(request.user, C.PATIENT_ACCESS_LOG),
        "today": timezone.localdate(),
        "missing_label": selectors.MISSING[filters.missing][0] if filters.missing in selectors.MISSING else "",
    })


@requires(C.PATIENT_VIEW)
def overdue_list(request):
    return patient_list(request, overdue=True)


def _patient(request, pk: int) -> Patient:
    """A patient file the user may see; another's answers 404, as a missing one (rule 21)."""
    return found_or_404(selectors.patient_get, NOT_FOUND, actor=request.user, pk=pk)


@requires(C.PATIENT_VIEW)
def patient_detail(request, pk: int):
    patient = _patient(request, pk)
    may_see_id = selectors.may_see_identity(request.user, patient.county)
    show_id = may_see_id and request.GET.get("show_id") == "1"
    services.access_log(user=request.user, patients=[patient], kind=AccessKind.IDENTITY if show_id else AccessKind.FILE)
    category, reason = patient.relief()
    return render(request, "patients/patient_detail.html", {
        "patient": patient, "id_number": patient.id_number if show_id else selectors.masked(patient.id_number),
        "may_see_id": may_see_id, "show_id": show_id, "relief_reason": reason,
        "followups": selectors.patient_followups(patient), "moves": selectors.patient_moves(patient),
        "relief_actions": selectors.patient_relief_actions(patient),
        "can_edit": scope_for(request.user, C.PATIENT_EDIT).contains(patient.county),
        "overdue": patient.followup_overdue(timezone.localdate()),
    })


def _initial(patient: Patient) -> dict:
    data = {f: getattr(patient, f) for f in services.PATIENT_FIELDS if f != "employer"}
    data["version"] = patient.version
    return data


@requires(C.PATIENT_EDIT)
def patient_edit(request, pk: int | None = None):
    patient = None
    if pk is not None:
        patient = _patient(request, pk)
        if not request.scope.contains(patient.county):
            return forbidden(request, NOT_YOURS)
    form = PatientForm(request.POST or None, initial=_initial(patient) if patient else None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        data["employer"] = None
        try:
            if patient is None:
                saved, result = call_service(form, services.patient_create, actor=request.user, data=data)
            else:
                saved, result = call_service(form, services.patient_update, actor=request.user, patient=patient,
                                             data=data, expected_version=form.cleaned_data.get("version"))
        except services.ConflictError as exc:
            form.add_error(None, str(exc))
            saved = False
        if saved:
            messages.success(request, _("已保存“%(name)s”的档案。") % {"name": result.name})
            return redirect("patients:detail", pk=result.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})


@requires(C.PATIENT_EDIT)
def patient_move(request, pk: int):
    patient = _patient(request, pk)
    if not request.scope.contains(patient.county):
        return forbidden(request, NOT_YOURS)
    form = MoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved, _result = call_service(form, services.patient_move, actor=request.user, patient=patient,
                                      **form.cleaned_data)
        if saved:
            messages.success(request, _("档案已迁至%(county)s，迁移记录已保存。") % {"county": form.cleaned_data["county"]})
            if scope_for(request.user, C.PATIENT_VIEW).contains(form.cleaned_data["county"]):
                return redirect("patients:detail", pk=patient.pk)
            return redirect("patients:list")
    return render(request, "patients/simple_form.html", {
        "form": form, "patient": patient, "title": _("迁移档案（患者迁居）"), "submit": _("确认迁移")})


@requires(C.PATIENT_EDIT)
def followup_create(request, pk: int):
    patient = _patient(request, pk)
    if not request.scope.contains(patient.county):
        return forbidden(request, NOT_YOURS)
    form = FollowUpForm(request.POST or None, initial={"followed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        saved, _result = call_service(form, services.followup_record, actor=request.user, patient=patient,
                                      data=form.cleaned_data)
        if saved:
            messages.success(request, _("随访记录已保存。"))
            return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/simple_form.html", {
        "form": form, "patient": patient, "title": _("登记随访"), "submit": _("保存随访")})


# ---- Relief departments ------------------------------------------------------------------------


def _relief_departments(user) -> list[str]:
    """The departments whose relief work the user may do: a superuser, every one."""
    if user.is_superuser:
        return list(RELIEF_DUTIES)
    return list(dict.fromkeys(g.department for g in relief_grants(user)))


def _department(request) -> str | None:
    """The department the relief page works for: the ?department= one if the user holds it,
    else the user's first relief department."""
    held = _relief_departments(request.user)
    wanted = request.GET.get("department") or request.POST.get("department")
    if wanted in held:
        return wanted
    return held[0] if held else None


@requires(C.PATIENT_RELIEF)
def relief_list(request):
    department = _department(request)
    if department is None:
        return forbidden(request)
    page = _page(request, selectors.relief_list(actor=request.user, department=department,
                                                query=request.GET.get("q", "").strip()))
    held = _relief_departments(request.user)
    return render(request, "patients/relief_list.html", {
        "page": page, "rows": _rows(request, page), "department": department,
        "department_label": Department(department).label,
        "departments": [(d, Department(d).label) for d in held],
        "duty": RELIEF_DUTIES[department],
        "categories": [ReliefCategory(c).label for c in sorted(RELIEF_DUTIES[department].categories)],
        "query": request.GET.get("q", ""),
    })


@requires(C.PATIENT_RELIEF)
def relief_detail(request, pk: int):
    department = _department(request)
    if department is None:
        return forbidden(request)
    patient = found_or_404(selectors.relief_patient_get, NOT_FOUND, actor=request.user, pk=pk, department=department)
    services.access_log(user=request.user, patients=[patient], kind=AccessKind.FILE)
    duty = RELIEF_DUTIES[department]
    may_record = request.user.is_superuser or any(
        g.may_record and g.department == department and patient.county.path.startswith(g.region.path)
        for g in relief_grants(request.user))
    form = ReliefForm(request.POST or None, kinds=duty.kinds, initial={"acted_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        saved, _result = call_service(form, services.relief_record, actor=request.user, patient=patient,
                                      department=department, data=form.cleaned_data)
        if saved:
            messages.success(request, _("救治救助措施已登记。"))
            return redirect(f"{request.path}?department={department}")
    return render(request, "patients/relief_detail.html", {
        "patient": patient, "id_number": selectors.masked(patient.id_number), "relief_reason": patient.relief()[1],
        "department": department, "department_label": Department(department).label, "form": form,
        "may_record": may_record, "actions": selectors.patient_relief_actions(patient, department),
    })


# ---- Rehabilitation ----------------------------------------------------------------------------


@requires(C.PATIENT_VIEW)
def rehab(request):
    region = scoped_region_param(request.scope, "region", request.GET)
    overview = selectors.rehab_overview(actor=request.user, region=region)
    return render(request, "patients/rehab.html", {
        **overview, "region": region, "can_edit": has_capability(request.user, C.PATIENT_EDIT),
        "township_threshold": selectors.TOWNSHIP_STATION_THRESHOLD,
        "village_threshold": selectors.VILLAGE_POINT_THRESHOLD,
    })


@requires(C.PATIENT_EDIT)
def rehab_site_edit(request, pk: int | None = None):
    site = None
    if pk is not None:
        site = request.scope.filter(RehabSite.objects).filter(pk=pk).first()
        if site is None:
            raise Http404(_("该康复站（点）不存在或不在您的管辖范围内。"))
    initial = {f: getattr(site, f) for f in services.SITE_FIELDS} if site else {
        "kind": request.GET.get("kind", "station"), "village": request.GET.get("village", ""),
        "township": Region.objects.filter(code=request.GET.get("township", "")).first(),
        "county": Region.objects.filter(code=request.GET.get("township", "")[:6]).first()}
    form = RehabSiteForm(request.POST or None, initial=initial, actor=request.user)
    if request.method == "POST" and form.is_valid():
        saved, result = call_service(form, services.rehab_site_save, actor=request.user, data=form.cleaned_data,
                                     site=site)
        if saved:
            messages.success(request, _("已保存“%(name)s”。") % {"name": result.name})
            return redirect("patients:rehab")
    return render(request, "patients/simple_form.html", {
        "form": form, "title": _("康复站（点）"), "submit": _("保存")})


# ---- Access log --------------------------------------------------------------------------------


@requires(C.PATIENT_ACCESS_LOG)
def access_log(request):
    region = scoped_region_param(request.scope, "region", request.GET)
    page = _page(request, selectors.access_log_list(actor=request.user, region=region))
    rows = [{"entry": e, "id_number": selectors.masked(e.patient.id_number)} for e in page.object_list]
    return render(request, "patients/access_log.html", {"page": page, "rows": rows, "region": region})
