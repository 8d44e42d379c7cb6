import json

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.services import regions_load_reference


class Command(BaseCommand):
    help = "载入参考数据：行政区划（以及各应用登记的行业、粉尘种类等目录）。可重复执行。"

    def handle(self, *args, **options):
        fixtures = settings.BASE_DIR / "fixtures"
        regions = json.loads((fixtures / "regions.json").read_text(encoding="utf-8"))
        written = regions_load_reference(rows=regions["regions"])
        self.stdout.write(
            f"regions: {len(regions['regions'])} in {regions['source']['package']}@{regions['source']['version']}, "
            f"{written} written"
        )
        for loader in _app_loaders():
            self.stdout.write(loader(fixtures))


def _app_loaders():
    from inspections.reference import load_reference as inspections_reference
    from ledger.reference import load_reference as ledger_reference
    from targets.reference import load_reference as targets_reference

    return [ledger_reference, targets_reference, inspections_reference]
