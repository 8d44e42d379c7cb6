"""Name search is a substring match (单位名称 contains …): a trigram GIN index serves it."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_countysubmission_employerrecord_reportingperiod_and_more")]

    operations = [
        TrigramExtension(),
        migrations.AddIndex(
            model_name="employer",
            index=GinIndex(fields=["name"], name="employer_name_trgm", opclasses=["gin_trgm_ops"]),
        ),
    ]
