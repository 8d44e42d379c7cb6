import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from portal import services
from portal.models import Department, Membership, Region, Role, User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_passwords_are_hashed_with_argon2id_at_owasp_parameters_in_production():
    from django.utils.module_loading import import_string

    from portal import settings as production

    hasher = import_string(production.PASSWORD_HASHERS[0])()
    encoded = hasher.encode("pneumo2026", hasher.salt())
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.verify("pneumo2026", encoded) and not hasher.verify("pneumo2027", encoded)


def test_a_password_hashed_with_djangos_argon2_parameters_is_rehashed_at_login(client, settings):
    from django.contrib.auth.hashers import Argon2PasswordHasher

    from portal import settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = make_user("371502", username="old_hash_clerk")
    old = Argon2PasswordHasher()
    User.objects.filter(pk=user.pk).update(password=old.encode(PASSWORD, old.salt()))
    assert "$m=102400,t=2,p=8$" in User.objects.get(pk=user.pk).password

    response = client.post(reverse("login"), {"username": "old_hash_clerk", "password": PASSWORD})

    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    assert "$m=19456,t=2,p=1$" in User.objects.get(pk=user.pk).password


def test_login_with_a_wrong_password_shows_a_chinese_error(client):
    make_user("371502", username="clerk")
    response = client.post(reverse("login"), {"username": "clerk", "password": "wrong-password"})
    assert response.status_code == 200
    assert "登录名或密码不正确" in response.content.decode()


def test_login_is_throttled_after_repeated_failures(client, settings):
    from django.core.cache import cache

    from portal import throttle

    make_user("371502", username="throttled_clerk")
    try:
        for _ in range(settings.PNEUMO_LOGIN_FREE_FAILURES + 1):
            client.post(reverse("login"), {"username": "throttled_clerk", "password": "wrong-password"})
        response = client.post(reverse("login"), {"username": "throttled_clerk", "password": PASSWORD})
        assert response.status_code == 429
        assert "请稍后再登录" in response.content.decode()
        assert "_auth_user_id" not in client.session
    finally:
        cache.delete(throttle._key("username", "throttled_clerk"))


def test_successful_login_lands_on_home_with_the_region_and_roles(client):
    make_user("371502", username="clerk", display_name="李娜")
    response = client.post(reverse("login"), {"username": "clerk", "password": PASSWORD}, follow=True)
    body = response.content.decode()
    assert "山东省聊城市东昌府区" in body and "卫生健康" in body and "录入" in body and "李娜" in body


def test_user_without_membership_sees_a_no_access_page(client):
    client.force_login(make_user())
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert "尚未开通权限" in response.content.decode()


def test_navigation_shows_only_what_the_roles_allow(client):
    client.force_login(make_user("371502", role=Role.CLERK))
    body = client.get(reverse("home")).content.decode()
    assert reverse("users") not in body
    client.force_login(make_user("371502", role=Role.ADMIN))
    assert reverse("users") in client.get(reverse("home")).content.decode()


def test_password_change(client):
    user = make_user("371502")
    client.force_login(user)
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "a-new-secret-2026", "new_password2": "a-new-secret-2026"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-new-secret-2026")


def test_logout_requires_post_and_ends_the_session(client):
    client.force_login(make_user("371502"))
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


# ---- Admins act only inside their subtree ------------------------------------------------


def county_admin():
    return make_user("371502", role=Role.ADMIN)


def test_county_admin_creates_a_user_in_their_county():
    user = services.user_create(actor=county_admin(), username="new_clerk", display_name="王芳", password="Str0ng-pass",
                                region=Region.objects.get(code="371502"), department=Department.HEALTH,
                                role=Role.CLERK)
    assert list(user.memberships.values_list("region__code", "role")) == [("371502", "clerk")]


def test_county_admin_cannot_create_a_city_user_and_nothing_is_written():
    with pytest.raises(PermissionDenied, match="无权"):
        services.user_create(actor=county_admin(), username="city_user", display_name="王芳", password="Str0ng-pass",
                             region=Region.objects.get(code="3715"), department=Department.HEALTH, role=Role.CLERK)
    assert not User.objects.filter(username="city_user").exists()


def test_county_admin_cannot_grant_in_a_sibling_county():
    target = make_user("371502")
    with pytest.raises(PermissionDenied):
        services.membership_grant(actor=county_admin(), user=target, region=Region.objects.get(code="371521"),
                                  department=Department.HEALTH, role=Role.VIEWER)
    assert target.memberships.count() == 1


def test_an_admin_cannot_grant_another_departments_role():
    with pytest.raises(PermissionDenied):
        services.membership_grant(actor=county_admin(), user=make_user("371502"),
                                  region=Region.objects.get(code="371502"), department=Department.HRSS,
                                  role=Role.CLERK)


def test_a_role_above_the_granters_own_is_refused():
    # A reviewer has no user-management right at all; an admin's rank is the ceiling.
    reviewer = make_user("371502", role=Role.REVIEWER)
    with pytest.raises(PermissionDenied):
        services.membership_grant(actor=reviewer, user=make_user("371502"), region=Region.objects.get(code="371502"),
                                  department=Department.HEALTH, role=Role.ADMIN)


def test_county_admin_cannot_deactivate_a_city_user():
    city_user = make_user("3715")
    with pytest.raises(PermissionDenied, match="超出您管辖范围"):
        services.user_set_active(actor=county_admin(), user=city_user, is_active=False)
    city_user.refresh_from_db()
    assert city_user.is_active


def test_weak_password_is_refused_with_a_message():
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=county_admin(), username="weak", display_name="王芳", password="12345678",
                             region=Region.objects.get(code="371502"), department=Department.HEALTH,
                             role=Role.CLERK)
    assert "password" in exc.value.error_dict
    assert not User.objects.filter(username="weak").exists()


def test_user_create_page_refuses_a_region_outside_the_subtree(client):
    client.force_login(make_user("3715", role=Role.ADMIN))
    outside = Region.objects.get(code="370102")  # 历下区, another city's county
    response = client.post(reverse("user-create"), {
        "username": "sneaky", "display_name": "王芳", "password": "Str0ng-pass", "region": outside.pk,
        "department": "health", "role": "clerk"})
    assert response.status_code == 200
    assert "选择一个有效的选项" in response.content.decode() or "有效" in response.content.decode()
    assert not User.objects.filter(username="sneaky").exists()


def test_a_county_admin_cannot_place_an_account_above_their_county(client):
    """A county admin's only region is fixed on the form: a tampered post naming the city is ignored."""
    client.force_login(county_admin())
    client.post(reverse("user-create"), {
        "username": "sneaky", "display_name": "王芳", "password": "Str0ng-pass",
        "region": Region.objects.get(code="3715").pk, "department": "health", "role": "clerk"})
    assert not Membership.objects.filter(user__username="sneaky").exclude(region__code="371502").exists()


def test_grant_and_revoke_are_audited():
    import pghistory.models

    admin = county_admin()
    target = make_user("371502")
    membership = services.membership_grant(actor=admin, user=target, region=Region.objects.get(code="371502"),
                                           department=Department.HEALTH, role=Role.VIEWER)
    membership_pk = membership.pk
    services.membership_revoke(actor=admin, membership=membership)
    events = pghistory.models.Events.objects.filter(pgh_model="portal.MembershipEvent").order_by("pgh_created_at")
    labels = [(e.pgh_label, e.pgh_context.get("action")) for e in events if e.pgh_obj_id == str(membership_pk)]
    assert labels == [("insert", "membership_grant"), ("delete", "membership_revoke")]
    assert not Membership.objects.filter(pk=membership_pk).exists()


def test_the_interface_is_chinese_by_default_and_english_on_request(client):
    client.force_login(make_user("371502", username="clerk"))
    assert "我的区划与岗位" in client.get(reverse("home")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = client.get(reverse("home")).content.decode()
    assert 'lang="en"' in body and "我的区划与岗位" not in body


def test_each_user_action_has_its_own_page_and_a_foreign_user_is_not_found(client):
    """One view per action on the user page; a user outside the admin's scope answers 404, as a
    user that does not exist."""
    client.force_login(county_admin())
    target = make_user("371502", username="managed_clerk")
    post = {name: lambda name=name, **data: client.post(reverse(f"user-{name}", args=[target.pk]), data)
            for name in ("grant", "revoke", "update", "activate", "deactivate", "password")}
    assert post["update"](display_name="王芳", phone="13800000000").status_code == 302
    assert post["deactivate"]().status_code == 302
    target.refresh_from_db()
    assert (target.display_name, target.phone, target.is_active) == ("王芳", "13800000000", False)
    assert post["activate"]().status_code == 302
    assert post["grant"](region=Region.objects.get(code="371502").pk, department="health", role="viewer").status_code == 302
    granted = target.memberships.get(role=Role.VIEWER)
    assert post["revoke"](membership=granted.pk).status_code == 302
    assert list(target.memberships.values_list("role", flat=True)) == [Role.CLERK]
    response = post["password"](password="12345678")
    assert response.status_code == 200  # refused on the form, the page again
    target.refresh_from_db()
    assert target.is_active and not target.check_password("12345678")
    assert client.get(reverse("user-detail", args=[target.pk])).status_code == 200
    assert client.post(reverse("user-detail", args=[target.pk])).status_code == 405
    foreign = make_user("3715", username="city_clerk")
    for name in ("detail", "grant", "revoke", "update", "activate", "deactivate", "password"):
        method = client.get if name == "detail" else client.post
        assert method(reverse(f"user-{name}", args=[foreign.pk])).status_code == 404, name
        assert method(reverse(f"user-{name}", args=[999999])).status_code == 404, name
