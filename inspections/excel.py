"""Excel exports of inspection reports, written through portal.workbook: team names, answers,
notes, 工作亮点 and 主要问题 are user text, written as strings that never run as formulas."""

from openpyxl.styles import Font

from inspections import selectors
from portal.workbook import new_workbook


def _display(answer, item) -> str:
    if answer is None or answer.is_blank:
        return ""
    if item.answer_type == "yes_no_na":
        return {"yes": "是", "no": "否", "na": "不适用"}.get(answer.value, str(answer.value))
    if item.answer_type == "photo":
        return f"照片 {len(answer.value)} 张"
    return str(answer.value)


def inspection_workbook(inspection) -> bytes:
    wb = new_workbook(write_only=False)
    ws = wb.sheet("检查表")
    a = inspection.assignment
    ws.append([f"{a.plan.name}（{a.plan.document_number}）"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["检查组", a.team.name, "被检查对象", a.target_name, "检查表", str(inspection.version)])
    ws.append(["状态", inspection.get_status_display(), "组长签字",
               inspection.signed_by.display_name if inspection.signed_by else ""])
    ws.append([])
    ws.append(["序号", "检查内容", "结果", "备注"])
    answers = {x.item_id: x for x in inspection.answers.all()}
    for item in inspection.version.items():
        answer = answers.get(item.pk)
        ws.append([item.number, item.text, _display(answer, item), answer.note if answer else ""])
    ws.column_dimensions["B"].width = 60
    summary = wb.sheet("报告")
    summary.append(["工作亮点", inspection.highlights])
    summary.append(["主要问题", inspection.problems])
    for key, value in selectors.inspection_figures(inspection).items():
        summary.append([key, str(value)])
    findings = wb.sheet("发现问题")
    findings.append(["检查项", "问题描述", "等级", "整改期限", "状态"])
    for f in inspection.findings.select_related("item"):
        findings.append([f.item.number, f.description, f.get_severity_display(), f.deadline, f.get_status_display()])
    return wb.to_bytes()


def plan_workbook(plan) -> bytes:
    report = selectors.plan_report(plan)
    wb = new_workbook(write_only=False)
    ws = wb.sheet("检查汇总")
    ws.append([f"{plan.name}（{plan.document_number}）"])
    ws.append(["任务数", report["assignments"], "已提交", report["submitted"], "已签字", report["signed"],
               "发现问题", report["findings"], "未整改", report["open_findings"]])
    ws.append([])
    ws.append(["检查组", "被检查对象", "状态", "已答/总项", "是", "否", "问题数", "工作亮点", "主要问题"])
    for row in report["rows"]:
        i, f = row["inspection"], row["figures"]
        ws.append([i.assignment.team.name, i.assignment.target_name, i.get_status_display(),
                   f"{f['answered']}/{f['items']}", f["yes"], f["no"], f["findings"], i.highlights, i.problems])
    return wb.to_bytes()
