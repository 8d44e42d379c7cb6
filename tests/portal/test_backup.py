"""manage.py backup / restore: a seeded database with an upload and a photo is backed up into
one archive, restored into a new database and media folder, and a portal running on the restored
copy serves the employer and the stored file; a damaged archive restores nothing."""

import io
import os
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

from portal.models import Role
from tests.factories import PASSWORD, make_user
from tests.faults import free_port
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db(transaction=True)


def _psql(sql: str, db: str = "postgres") -> None:
    params = connection.get_connection_params()
    subprocess.run(["psql", "-h", params.get("host") or "127.0.0.1", "-p", str(params.get("port") or 5432),
                    "-U", params.get("user") or "postgres", "-d", db, "-c", sql], check=True, capture_output=True)


@pytest.fixture
def new_database():
    name = f"{connection.settings_dict['NAME']}_restored"
    _psql(f'DROP DATABASE IF EXISTS "{name}"')
    _psql(f'CREATE DATABASE "{name}"')
    yield name
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restores_into_a_new_database_and_media_folder_and_is_served(
        reference_data, settings, tmp_path, new_database):
    from ledger.models import ImportJob, ReportingPeriod

    settings.MEDIA_ROOT = tmp_path / "media"
    clerk = make_user("371502", role=Role.CLERK, username="backup_clerk")
    employer = make_employer(county="371502", name="备份测试水泥厂")
    period = ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on="2020-01-01",
                                            ends_on="2020-06-30", deadline="2020-07-15")
    job = ImportJob(created_by=clerk, province=employer.province, city=employer.city, county=employer.county,
                    period=period, original_name="台帐.xlsx")
    job.file.save("台帐.xlsx", ContentFile(b"PK\x03\x04 workbook bytes"), save=True)
    photo = settings.MEDIA_ROOT / "inspections" / "photos" / "p1.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8\xff photo")

    call_command("backup", output=str(tmp_path / "backups"), stdout=io.StringIO())
    (archive,) = (tmp_path / "backups").glob("pneumo-backup-*.tar")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "database.dump", f"media/{job.file.name}", "media/inspections/photos/p1.jpg"} <= names

    restored_media = tmp_path / "restored-media"
    call_command("restore", str(archive), database=new_database, media_root=str(restored_media),
                 stdout=io.StringIO())
    assert (restored_media / job.file.name).read_bytes() == b"PK\x03\x04 workbook bytes"
    assert (restored_media / "inspections/photos/p1.jpg").read_bytes() == b"\xff\xd8\xff photo"

    # A portal on the restored copy logs in and serves the employer.
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test", "PNEUMO_DB_NAME": new_database,
           "PNEUMO_MEDIA_ROOT": str(restored_media), "PNEUMO_DB_POOL": "0"}
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind",
                            f"127.0.0.1:{port}", "--workers", "1"], cwd=settings.BASE_DIR, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        deadline = time.monotonic() + 30
        while True:
            try:
                page = opener.open(f"{base}/accounts/login/", timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        data = urllib.parse.urlencode({"username": "backup_clerk", "password": PASSWORD,
                                       "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(f"{base}/accounts/login/", data=data, headers={"Referer": base + "/"})
        opener.open(request, timeout=10)
        body = opener.open(f"{base}/ledger/employers/{employer.pk}/", timeout=10).read().decode()
        assert "备份测试水泥厂" in body
    finally:
        web.terminate()
        web.wait(timeout=20)


def test_a_damaged_archive_restores_nothing(reference_data, settings, tmp_path, new_database):
    settings.MEDIA_ROOT = tmp_path / "media"
    (settings.MEDIA_ROOT / "imports").mkdir(parents=True)
    (settings.MEDIA_ROOT / "imports" / "a.xlsx").write_bytes(b"original")
    call_command("backup", output=str(tmp_path / "backups"), stdout=io.StringIO())
    (archive,) = (tmp_path / "backups").glob("pneumo-backup-*.tar")
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w") as target:
        for member in source.getmembers():
            content = source.extractfile(member).read()
            if member.name == "media/imports/a.xlsx":
                content = b"tampered"
                member.size = len(content)
            target.addfile(member, io.BytesIO(content))
    with pytest.raises(CommandError, match="checksum mismatch media/imports/a.xlsx"):
        call_command("restore", str(damaged), database=new_database, media_root=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
