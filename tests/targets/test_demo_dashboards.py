"""The demo shows what the campaign is about on every level: targets, colours, 还差 N and the
completeness badge, from the national view down to the counties."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from portal.models import Region, RegionLevel
from targets.models import RegionRollup
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_every_provincial_city_and_county_dashboard_of_the_demo_shows_targets_colours_and_completeness(
        client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", employers=3000, verbosity=0)
    client.force_login(make_user("100000", role="viewer"))
    national = client.get(reverse("targets:dashboard")).content.decode()
    for code in ("21", "22", "37", "41", "50"):
        assert f'data-testid="row-{code}"' in national
    regions = list(Region.objects.filter(level=RegionLevel.PROVINCE))
    for city in Region.objects.filter(level=RegionLevel.CITY).order_by("code"):
        regions.append(city)
        # The first county of each city that has employers in the demo (a few have none).
        regions.append(Region.objects.filter(parent=city, pk__in=RegionRollup.objects.values("region")).order_by(
            "code").first())
    for region in filter(None, regions):
        body = client.get(reverse("targets:dashboard"), {"region": region.code}).content.decode()
        assert "cell-met" in body or "cell-behind" in body or "cell-near" in body, region
        assert "还差" in body, region
        assert f'data-testid="completeness-{region.code}"' in body, region
        assert "前" in body and "data-testid=\"deadline\"" in body, region
    # The demo's first half-year was kept before the ledger counted posts: its warning signs are
    # counted by employer and labelled; the latest one is counted by posts throughout.
    shandong = {r.period.code: r.figures for r in RegionRollup.objects.filter(region__code="37").select_related("period")}
    assert shandong["2019H2"]["warning_signs_by_employer"][0] == shandong["2019H2"]["warning_signs"][1] > 0
    assert shandong["2020H1"]["warning_signs_by_employer"][0] == 0
    assert shandong["2020H1"]["warning_signs"][1] > shandong["2020H1"]["declaration"][1]  # posts, not employers
    body = client.get(reverse("targets:dashboard"), {"region": "37", "period": "2019H2"}).content.decode()
    assert "按单位计（旧口径）" in body
