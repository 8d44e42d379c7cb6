"""Paper and screens: the dashboard printed with Chrome's defaults (A4 landscape, status colours,
period and 数据截至 in the header, every column on the page), checked in Chromium's PDF output;
every page of the menu fits 1024 and 1366 px in Chinese and English."""

import datetime
import re
import zlib

import pytest
from playwright.sync_api import expect

from ledger import services as ledger_services
from ledger.models import ReportingPeriod
from portal.models import Region, Role, User
from targets import services
from tests.e2e.conftest import browser_context, login
from tests.factories import PASSWORD, make_user
from tests.ledger.factories import make_employer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BEHIND_RGB = (0xF8 / 255, 0xD7 / 255, 0xDA / 255)  # .cell-behind


@pytest.fixture
def ledger(reference_data):
    period = ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                            ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2030, 7, 15))
    for code in ("371502", "371521"):
        make_employer(county=code, name=f"{code}单位", in_governance_scope=True)
        ledger_services.period_open_county(actor=make_user(code, username=f"clerk{code}"), period=period,
                                           county=Region.objects.get(code=code))
    services.rollup_recompute_full(period=period)
    from targets.models import Campaign, Target

    campaign = Campaign.objects.create(name="山东省尘肺病防治攻坚行动实施方案", region=Region.objects.get(code="37"),
                                       authority="山东省卫生健康委员会", first_year=2019, last_year=2020)
    Target.objects.create(campaign=campaign, region=Region.objects.get(code="37"), indicator="declaration",
                          due_on=datetime.date(2020, 6, 30), value=95)
    return period


def pdf_streams(pdf: bytes) -> str:
    text = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            text.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(text)


def test_the_dashboard_prints_on_a4_landscape_with_colours_period_and_every_column(page, ledger):
    make_user("37", role=Role.VIEWER, username="province_viewer")
    login(page, "province_viewer", PASSWORD)
    page.goto("/dashboard/?region=3715&period=2020H1")
    expect(page.get_by_test_id("dashboard-table")).to_contain_text("东昌府区")
    assert page.locator(".dashboard-table td.cell-behind").count() > 0
    expect(page.get_by_test_id("print-header")).to_be_hidden()  # on screen the period selector says it

    page.emulate_media(media="print")
    header = page.get_by_test_id("print-header")
    expect(header).to_be_visible()
    expect(header).to_contain_text("2020年上半年")
    expect(header).to_contain_text("数据截至")
    adjust = page.evaluate("""getComputedStyle(document.querySelector('.dashboard-table td.cell-behind'))
                              .getPropertyValue('print-color-adjust')""")
    assert adjust == "exact"

    # A4 landscape less the margins is 281 mm wide: at that width every column is on the page.
    page.set_viewport_size({"width": round(281 / 25.4 * 96), "height": 700})
    overflow = page.evaluate("""(() => {
      const table = document.querySelector('.dashboard-table');
      const right = Math.max(...[...table.querySelectorAll('th')].map(th => th.getBoundingClientRect().right));
      return {right, width: document.documentElement.clientWidth, scroll: table.scrollWidth,
              box: table.parentElement.clientWidth, headers: table.querySelectorAll('thead th').length};
    })()""")
    assert overflow["headers"] >= 14
    assert overflow["right"] <= overflow["width"] and overflow["scroll"] <= overflow["box"] + 1, overflow

    # Chromium's PDF with Chrome's defaults (no "background graphics"), page size from the CSS.
    pdf = page.pdf(prefer_css_page_size=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(abs(float(w) - 841.89) < 1.5 and abs(float(h) - 595.28) < 1.5 for w, h in boxes), boxes
    fills = {tuple(round(float(x), 2) for x in m) for m in
             re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) (?:rg|sc)\b", pdf_streams(pdf))}
    assert tuple(round(c, 2) for c in BEHIND_RGB) in fills, "status colours are missing from the printout"


def nav_pages(page) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('[data-testid=main-nav] a.nav-link')].map(a => a.getAttribute('href'))")


CHECK_LAYOUT = """(() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) problems.push(`page ${doc.scrollWidth}px wide`);
  const visible = (el) => el.offsetParent !== null && el.getClientRects().length > 0;
  for (const link of document.querySelectorAll('[data-testid=main-nav] .nav-link, [data-testid=user-menu]')) {
    if (!visible(link)) continue;
    const lineHeight = parseFloat(getComputedStyle(link).lineHeight) || 24;
    const textHeight = link.getBoundingClientRect().height - parseFloat(getComputedStyle(link).paddingTop)
      - parseFloat(getComputedStyle(link).paddingBottom);
    if (textHeight > lineHeight * 1.5) problems.push(`menu entry on two lines: ${link.textContent.trim()}`);
    const box = link.getBoundingClientRect();
    if (box.right > window.innerWidth || box.left < 0) problems.push(`menu entry off-screen: ${link.textContent.trim()}`);
  }
  const select = document.querySelector('select[name=language]');
  const style = getComputedStyle(select);
  const canvas = document.createElement('canvas').getContext('2d');
  canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const needed = canvas.measureText(select.options[select.selectedIndex].text).width
    + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
  if (needed > select.clientWidth + 1) problems.push(`language box cut: ${needed} > ${select.clientWidth}`);
  const lang = select.getBoundingClientRect();
  if (lang.right > window.innerWidth) problems.push('language box off-screen');
  return problems;
})()"""


@pytest.mark.parametrize("width", [1024, 1366])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_menu_page_fits_the_screen(browser, live_server, reference_data, width, language):
    User.objects.create_superuser(username="root", password=PASSWORD, display_name="系统管理员")
    context, page = browser_context(browser, live_server, viewport={"width": width, "height": 800})
    try:
        login(page, "root", PASSWORD)
        page.wait_for_url(re.compile(r"/$"))
        context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        page.goto("/")
        pages = nav_pages(page)
        assert len(pages) >= 10
        for path in pages:
            page.goto(path)
            problems = page.evaluate(CHECK_LAYOUT)
            toggler = page.locator(".navbar-toggler")
            if toggler.is_visible():
                toggler.click()  # the folded menu: every entry on its own line, the user menu reachable
                expect(page.get_by_test_id("user-menu")).to_be_visible()
                page.wait_for_timeout(400)  # the collapse animation
                problems += page.evaluate(CHECK_LAYOUT)
            assert not problems, f"{path} at {width}px ({language}): {problems}"
            assert not context.csp_violations, f"{path} broke its Content-Security-Policy: {context.csp_violations}"
            expect(page.locator("html")).to_have_attribute("lang", "en" if language == "en" else "zh-hans")
    finally:
        context.close()
