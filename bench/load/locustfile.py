"""Deadline-day load: clerks, officials and inspectors at 6 : 3 : 1, each thinking 2-8 s between
actions, signed in as the demo accounts of their roles (seed_demo), against a running portal.
One more user, the probe, measures how long a clerk's save takes to reach the province dashboard.

    bash bench/load/run.sh          # starts the stack on PNEUMO_BENCH_DB and runs the steps
    .venv/bin/locust -f bench/load/locustfile.py --host http://127.0.0.1:8000 --headless -u 100 -r 10 -t 3m

Outcomes the portal gives on purpose (a save refused by validation or by a newer version, a
sync answered 409) count as successes under their own names; errors are 5xx, timeouts, a
missing page element and anything else unexpected.
"""

import collections
import datetime
import json
import os
import random
import re
import time
import uuid

import lxml.html
from locust import HttpUser, between, events, task
from locust.clients import HttpSession

PASSWORD = os.environ.get("PNEUMO_DEMO_PASSWORD", "pneumo2026")
PROVINCE = os.environ.get("PNEUMO_LOAD_PROVINCE", "37")
# Demo accounts (portal/demo.py): health clerks who may edit the ledger, officials who read it, and
# the inspection teams of the demo plan. The second county's ledger is submitted (read-only).
CLERKS = ["county_health_clerk", "city_health_clerk", "province_health_clerk"]
OFFICIALS = ["province_health_viewer", "city_health_viewer", "national_health_viewer", "province_health_reviewer",
             "city_health_reviewer"]
INSPECTORS = ["city_health_inspector", "city_emergency_inspector", "city_hrss_inspector",
              "city_mine_safety_inspector", "city_medical_insurance_inspector"]
PROBE_CLERK = "county_health_clerk"
PROBE_COUNTY = os.environ.get("PNEUMO_LOAD_PROBE_COUNTY", "371502")

EMPLOYER_LINK = re.compile(r'href="/ledger/employers/(\d+)/"')
DRILL = re.compile(r'data-testid="drill-(\d+)"')
RECORD_EDIT = re.compile(r'href="(/ledger/records/\d+/edit/)" data-testid="record-edit-(\w+)"')


# Kept apart from Locust's request statistics (so its aggregate is requests only) and written
# next to its CSV files as <prefix>_probe.json when the run ends.
DELAYS_MS: list[float] = []
NOT_SEEN = 0
OUTCOMES: collections.Counter = collections.Counter()


@events.quitting.add_listener
def write_probe_results(environment, **_kwargs):
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if prefix:
        with open(f"{prefix}_probe.json", "w") as out:
            json.dump({"delays_ms": DELAYS_MS, "not_seen": NOT_SEEN, "outcomes": OUTCOMES}, out)


def sign_in(client, username: str) -> None:
    client.get("/accounts/login/", name="login form")
    with client.post("/accounts/login/", name="login", allow_redirects=False, catch_response=True,
                     data={"username": username, "password": PASSWORD,
                           "csrfmiddlewaretoken": client.cookies.get("csrftoken", "")}) as response:
        if response.status_code != 302:
            response.failure(f"login of {username} answered {response.status_code}")


def form_values(html: str) -> dict:
    """What the browser would send back from the page's record form (the one with a version
    field: the page also holds the sign-out and language forms)."""
    doc = lxml.html.fromstring(html)
    forms = [f for f in doc.forms if f.method.upper() == "POST" and "version" in f.fields]
    return dict(forms[0].form_values()) if forms else {}


def refusal(html: str) -> str:
    """The form's first message, to tell the refusals apart in the summary."""
    doc = lxml.html.fromstring(html)
    shown = doc.xpath('//*[contains(@class, "invalid-feedback") or contains(@class, "alert-danger")'
                      ' or contains(@class, "alert-warning")]')
    return " ".join(shown[0].text_content().split())[:60] if shown else "(no message found)"


class PortalUser(HttpUser):
    abstract = True
    wait_time = between(2, 8)
    accounts: list[str] = []

    def on_start(self):
        self.username = random.choice(self.accounts)
        sign_in(self.client, self.username)


class Clerk(PortalUser):
    weight = 6
    accounts = CLERKS
    employers: list[str] = []

    def _list(self, params: str = ""):
        page = random.randint(1, 20)
        response = self.client.get(f"/ledger/?page={page}{params}", name="clerk: employer list")
        if response.status_code == 404:  # fewer pages in this scope
            response = self.client.get(f"/ledger/?{params}", name="clerk: employer list")
        found = EMPLOYER_LINK.findall(response.text)
        if found:
            self.employers = found
        return found

    @task(3)
    def employer_list(self):
        self._list()

    @task(1)
    def search(self):
        self._list(f"&q={random.choice(['水泥', '矿', '铸造', '石材', '陶瓷'])}")

    @task(3)
    def record_form_and_save(self):
        if not self.employers and not self._list():
            return
        employer = random.choice(self.employers)
        page = self.client.get(f"/ledger/employers/{employer}/", name="clerk: employer page")
        links = RECORD_EDIT.findall(page.text)
        if not links:
            return  # not carried into an open period
        url, _period = links[0]
        form = self.client.get(url, name="clerk: record form")
        values = form_values(form.text)
        if not values:
            return
        time.sleep(random.uniform(2, 8))  # filling the form in
        with self.client.post(url, data=values, name="clerk: record save", allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code == 302:
                response.success()
            elif response.status_code == 200 and ("invalid-feedback" in response.text or "alert" in response.text):
                response.success()  # refused (a newer version, a locked period, a seeded value the rules refuse)
                OUTCOMES[f"record save refused by the form: {refusal(response.text)}"] += 1
            else:
                response.failure(f"save answered {response.status_code}")


class Official(PortalUser):
    weight = 3
    accounts = OFFICIALS
    children: list[str] = []

    @task(8)
    def dashboard(self):
        response = self.client.get("/dashboard/", name="official: dashboard")
        self.children = DRILL.findall(response.text) or self.children

    @task(6)
    def drill_down(self):
        if not self.children:
            return self.dashboard()
        response = self.client.get(f"/dashboard/?region={random.choice(self.children)}", name="official: drill-down")
        self.children = DRILL.findall(response.text) or self.children

    @task(8)
    def employer_list(self):
        missing = random.choice(["", "", "declaration", "testing", "exam", "insurance"])
        self.client.get(f"/ledger/?missing={missing}&page={random.randint(1, 5)}", name="official: employer list")

    @task(1)
    def export(self):
        region = f"&region={random.choice(self.children)}" if self.children else ""
        with self.client.get(f"/ledger/excel/export/?missing=declaration{region}", name="official: export",
                             catch_response=True) as response:
            kind = response.headers.get("Content-Type", "")
            if response.status_code != 200:
                response.failure(f"export answered {response.status_code}")
            elif kind.startswith("text/html"):  # built by the worker: poll the status as the page does
                response.success()
                self._wait_for_background_export(response.text)

    def _wait_for_background_export(self, html: str):
        status = re.search(r'hx-get="([^"]+)"', html)
        deadline = time.monotonic() + 300
        while status and time.monotonic() < deadline:
            time.sleep(2)
            page = self.client.get(status.group(1), name="official: export status")
            download = re.search(r'href="([^"]+/download/)"', page.text)
            if download:
                self.client.get(download.group(1), name="official: export download")
                return


class Inspector(PortalUser):
    weight = 1
    accounts = INSPECTORS
    assignment: dict | None = None

    @task(2)
    def tablet_list(self):
        self.client.get("/inspections/", name="inspector: tablet list")
        answer = self.client.get("/api/inspections/assignments/", name="inspector: assignments (API)")
        open_ones = [a for a in answer.json().get("results", []) if a.get("status") != "done"] if answer.ok else []
        self.assignment = random.choice(open_ones) if open_ones else None

    @task(2)
    def checklist(self):
        if self.assignment is None:
            return self.tablet_list()
        pk = self.assignment["id"]
        offline = self.client.get(f"/api/inspections/assignments/{pk}/offline/", name="inspector: offline payload")
        if not offline.ok:
            return
        payload = offline.json()
        version = self.client.get(f"/api/inspections/checklist-versions/{payload['checklist_version']}/",
                                  name="inspector: checklist")
        if version.ok:
            self.assignment = {**self.assignment, "payload": payload, "checklist": version.json()}

    @task(1)
    def sync(self):
        if self.assignment is None or "checklist" not in self.assignment:
            return self.checklist()
        payload, checklist = self.assignment["payload"], self.assignment["checklist"]
        versions = {a["item"]: a["version"] for a in payload["answers"]}
        items = [i for s in checklist["sections"] for i in s["items"] if i["answer_type"] == "yes_no_na"]
        if not items:
            return
        changes = [{"client_uuid": str(uuid.uuid4()), "checklist_version": checklist["id"],
                    "base_version": versions.get(i["id"], 0), "item": i["id"],
                    "value": random.choice(["yes", "no", "na"]), "note": ""}
                   for i in random.sample(items, min(3, len(items)))]
        with self.client.post(f"/api/inspections/assignments/{self.assignment['id']}/sync/", json={"answers": changes},
                              headers={"X-CSRFToken": self.client.cookies.get("csrftoken", "")},
                              name="inspector: sync", catch_response=True) as response:
            if response.status_code in (200, 409):
                response.success()  # 409: another tablet changed one of the answers first
                OUTCOMES[f"sync answered {response.status_code}"] += 1
            elif response.status_code == 400:  # submitted meanwhile, or the plan closed
                response.success()
                OUTCOMES["sync answered 400"] += 1
                self.assignment = None
            else:
                response.failure(f"sync answered {response.status_code}")
        self.assignment.pop("checklist", None) if self.assignment else None


class SaveToDashboardProbe(HttpUser):
    """One clerk declaring an employer of the "未落实：粉尘危害申报" list, then one provincial viewer
    reading the province dashboard until its declaration figure has moved: the time from the
    save's answer to the first dashboard that shows it (polled every 0.5 s) is the delay. Then it
    puts the record back and times that save the same way, so every run finds the county's list
    as the seed left it. Other clerks re-save unchanged records, so only the probe moves that figure."""

    fixed_count = 1
    wait_time = between(5, 10)

    def on_start(self):
        sign_in(self.client, PROBE_CLERK)
        self.viewer = HttpSession(base_url=self.host, request_event=self.environment.events.request, user=self)
        sign_in(self.viewer, "province_health_viewer")

    def _declared(self) -> tuple[int, str] | None:
        page = self.viewer.get(f"/dashboard/?region={PROVINCE}", name="probe: province dashboard")
        doc = lxml.html.fromstring(page.text)
        cell = doc.xpath('//tr[@data-testid="total-row"]/td[@data-indicator="declaration"]')
        period = doc.xpath('//select[@name="period"]/option[@selected]/@value')
        if not cell or not period:
            return None
        figure = re.search(r"(\d+)/(\d+)", cell[0].text_content())
        return (int(figure.group(1)), period[0]) if figure else None

    @task
    def save_and_watch(self):
        before = self._declared()
        if before is None:
            return
        declared, period = before
        listing = self.client.get(f"/ledger/?region={PROBE_COUNTY}&missing=declaration&period={period}",
                                  name="probe: 未落实 list")
        employers = EMPLOYER_LINK.findall(listing.text)
        if not employers:
            return
        page = self.client.get(f"/ledger/employers/{random.choice(employers)}/", name="probe: employer page")
        url = next((u for u, code in RECORD_EDIT.findall(page.text) if code == period), None)
        if url is None:
            return
        original = form_values(self.client.get(url, name="probe: record form").text)
        declaring = {**original, "hazard_declared": "on",
                     "declared_on": original.get("declared_on") or datetime.date.today().isoformat()}
        if not self._save_and_watch(url, declaring, lambda figure: figure > declared):
            return
        # Put the record back as it was (and time that save too): each run of the probe declares
        # employers of the county's list, and without this the list ran dry after a few runs.
        current = form_values(self.client.get(url, name="probe: record form").text)
        if current:
            self._save_and_watch(url, {**original, "version": current["version"]}, lambda figure: figure <= declared)

    def _save_and_watch(self, url: str, values: dict, moved) -> bool:
        """Save, then read the province dashboard until `moved(its declaration figure)`; whether
        the save went through."""
        saved = self.client.post(url, data=values, name="probe: record save", allow_redirects=False)
        if saved.status_code != 302:
            return False
        global NOT_SEEN
        started = time.monotonic()
        while time.monotonic() - started < 120:
            time.sleep(0.5)
            now = self._declared()
            if now is not None and moved(now[0]):
                DELAYS_MS.append((time.monotonic() - started) * 1000)
                return True
        NOT_SEEN += 1
        return True
