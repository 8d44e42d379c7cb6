import time
from pathlib import Path

from django.core.management.base import BaseCommand

from portal.backup import backup


class Command(BaseCommand):
    help = "Back up the database and MEDIA_ROOT into one archive with a manifest of checksums."

    def add_arguments(self, parser):
        parser.add_argument("--output", default="backups", help="directory for pneumo-backup-<time>.tar")

    def handle(self, *args, output, **options):
        started = time.perf_counter()
        archive = backup(Path(output))
        self.stdout.write(f"{archive} ({archive.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
