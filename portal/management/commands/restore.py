import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.backup import BackupError, restore


class Command(BaseCommand):
    help = ("Restore an archive written by `manage.py backup`: checks every checksum first, then loads the "
            "database into an existing empty database and copies the files into the media folder.")

    def add_arguments(self, parser):
        parser.add_argument("archive")
        parser.add_argument("--database", help="target database name (default: the configured one)")
        parser.add_argument("--media-root", help="target media folder (default: MEDIA_ROOT)")

    def handle(self, *args, archive, database, media_root, **options):
        started = time.perf_counter()
        try:
            manifest = restore(Path(archive), database=database or settings.DATABASES["default"]["NAME"],
                               media_root=Path(media_root or settings.MEDIA_ROOT))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"restored {len(manifest['files'])} files from {manifest['created_at']} "
                          f"in {time.perf_counter() - started:.1f} s")
