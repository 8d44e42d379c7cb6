from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking the ledger against writes: a province's table takes a while.
    atomic = False

    dependencies = [
        ("ledger", "0007_record_warning_sign_posts"),
        ("portal", "0003_audit_action_names"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="employer",
            index=models.Index(fields=["name", "id"], name="employer_name_order"),
        ),
    ]
