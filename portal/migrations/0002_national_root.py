"""The national root (全国, level 0) above the provinces: created here, the provinces hung
under it and every materialized path prefixed with its code, so paths, scoping and rollups
treat it as one more level."""

from django.db import migrations, models

NATIONAL_CODE = "100000"


def add_root(apps, schema_editor):
    Region = apps.get_model("portal", "Region")
    root, _created = Region.objects.get_or_create(
        code=NATIONAL_CODE, defaults={"name": "全国", "level": 0, "parent": None, "path": f"{NATIONAL_CODE}/"})
    Region.objects.filter(level=1, parent__isnull=True).update(parent=root)
    schema_editor.execute(
        "UPDATE portal_region SET path = %s || path WHERE path NOT LIKE %s",
        [f"{NATIONAL_CODE}/", f"{NATIONAL_CODE}/%"],
    )
    # The deferred foreign-key checks now, or the constraint below cannot alter the table.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def remove_root(apps, schema_editor):
    Region = apps.get_model("portal", "Region")
    Region.objects.filter(level=1).update(parent=None)
    schema_editor.execute(
        "UPDATE portal_region SET path = substr(path, %s) WHERE path LIKE %s",
        [len(NATIONAL_CODE) + 2, f"{NATIONAL_CODE}/%"],
    )
    Region.objects.filter(code=NATIONAL_CODE).delete()
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [("portal", "0001_initial")]

    operations = [
        migrations.RemoveConstraint(model_name="region", name="region_parent_matches_level"),
        migrations.AlterField(
            model_name="region", name="level",
            field=models.PositiveSmallIntegerField(
                choices=[(0, "全国"), (1, "省"), (2, "市"), (3, "县（市、区）"), (4, "乡镇（街道）")], verbose_name="级别"),
        ),
        migrations.RunPython(add_root, remove_root),
        migrations.AddConstraint(
            model_name="region",
            constraint=models.CheckConstraint(
                condition=models.Q(models.Q(("level", 0), ("parent__isnull", True)),
                                   models.Q(("level__gt", 0), ("parent__isnull", False)), _connector="OR"),
                name="region_parent_matches_level"),
        ),
    ]
