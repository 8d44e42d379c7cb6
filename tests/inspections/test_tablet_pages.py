"""The tablet pages: a refused submission marks each blank item in its card; the task list says
where each task stands."""

import pytest
from django.test import Client

from inspections import services
from tests.inspections.factories import SIGNATURE, fill_all, make_world

pytestmark = pytest.mark.django_db


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_refused_blank_item_is_marked_in_its_own_card():
    w = make_world()
    fill_all(w.unannounced, w.member, skip={"1.3", "1.5"})
    client = client_of(w.member)
    response = client.post(f"/inspections/assignments/{w.unannounced.pk}/submit/", {"highlights": ""})
    assert response.status_code == 302 and response["Location"].endswith("?blank=1")
    page = client.get(response["Location"]).content.decode()
    assert "1.3 如实申报粉尘危害项目" in page  # named at the top, as before
    for number in ("1.3", "1.5"):
        card = page[page.index(f'data-testid="item-{number}"') - 300:page.index(f'data-testid="blank-{number}"') + 60]
        assert "item-blank" in card and "d-none" not in card[card.index(f'data-testid="blank-{number}"') - 80:]
    answered = page[page.index('data-testid="item-1.1"') - 300:page.index('data-testid="blank-1.1"') + 60]
    assert "item-blank" not in answered.split('data-testid="item-1.1"')[0][-200:]
    # Without the refusal the page marks nothing.
    assert "fill-item item-blank" not in client.get(f"/inspections/assignments/{w.unannounced.pk}/").content.decode()


def test_the_api_refusal_names_the_blank_items_for_the_tablet():
    from rest_framework.test import APIClient

    w = make_world()
    fill_all(w.unannounced, w.member, skip={"1.3"})
    api = APIClient()
    api.force_login(w.member)
    response = api.post(f"/api/inspections/assignments/{w.unannounced.pk}/submit/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["blank_items"] == ["1.3"] and "1.3" in response.json()["detail"]


def test_the_task_list_shows_where_each_task_stands():
    w = make_world()
    client = client_of(w.member)

    def state(assignment):
        page = client.get("/inspections/").content.decode()
        start = page.index(f'data-testid="task-state-{assignment.pk}">') + len(f'data-testid="task-state-{assignment.pk}">')
        return page[start:page.index("</span>", start)]

    assert state(w.comprehensive) == "未开始" and state(w.unannounced) == "未开始"
    client.get(f"/inspections/assignments/{w.unannounced.pk}/")  # opened (kept offline), nothing answered yet
    assert state(w.unannounced) == "未开始"
    fill_all(w.unannounced, w.member, skip={"1.3"})
    total = w.unannounced.checklist_version.items().count()
    assert state(w.unannounced) == f"填写中（{total - 1}/{total}）"
    fill_all(w.unannounced, w.member)
    services.inspection_submit(actor=w.member, inspection=w.unannounced.inspection)
    assert state(w.unannounced) == "已提交，待组长签字"
    services.inspection_return(actor=w.leader, inspection=w.unannounced.inspection, reason="1.5 答案有误")
    assert state(w.unannounced).startswith("已退回修改")
    services.inspection_submit(actor=w.member, inspection=w.unannounced.inspection)
    services.inspection_sign(actor=w.leader, inspection=w.unannounced.inspection, signature=SIGNATURE)
    assert state(w.unannounced) == "组长已签字"
    assert state(w.comprehensive) == "未开始"
