"""Boundary sets as data: seats belong to a set, postcodes and districts are keyed by (set, code).

An existing installation keeps running on the 2010–2024 seats it holds (its seats, postcodes and districts
become the "2010" set, which stays current) until `manage.py move_to_boundary_set 2024` moves it; a fresh
one starts on the 2024 set. Postcodes and districts move to new tables keyed by (set, code): Django cannot
turn a single-column key into a composite one in place, so the rows are copied with one INSERT … SELECT.
"""

import django.db.models.deletion
from django.db import migrations, models

SETS = [("2010", "2010–2024 boundaries"), ("2024", "2024 boundaries (2023 review)")]


def boundary_sets_create(apps, schema_editor):
    BoundarySet = apps.get_model("seats", "BoundarySet")
    Seat = apps.get_model("seats", "Seat")
    current = "2010" if Seat.objects.exists() else "2024"
    for code, name in SETS:
        BoundarySet.objects.update_or_create(code=code, defaults={"name": name, "is_current": code == current})


def copy_sql(table: str, key: str, columns: str) -> str:
    return (f"INSERT INTO seats_{table} (boundary_set, {key}, {columns}) "
            f"SELECT '2010', {key}, {columns} FROM seats_{table}old")


class Migration(migrations.Migration):

    dependencies = [
        ("seats", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="BoundarySet",
            fields=[
                ("code", models.CharField(max_length=4, primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=80)),
                ("is_current", models.BooleanField(default=False)),
            ],
            options={
                "ordering": ["code"],
                "constraints": [
                    models.UniqueConstraint(condition=models.Q(("is_current", True)), fields=("is_current",),
                                            name="boundary_set_one_current"),
                    models.CheckConstraint(condition=models.Q(("code__regex", "^[0-9]{4}$")),
                                           name="boundary_set_code_year"),
                ],
            },
        ),
        migrations.RunPython(boundary_sets_create, migrations.RunPython.noop),
        # Existing seats are the 2010 set; the default for new rows is the newest set.
        migrations.AddField(
            model_name="seat", name="boundary_set",
            field=models.ForeignKey(default="2010", help_text="The first boundary set this seat belongs to.",
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="seats.boundaryset"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="seat", name="last_boundary_set",
            field=models.ForeignKey(default="2010", help_text="The last boundary set this seat belongs to.",
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="seats.boundaryset"),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="seat", name="boundary_set",
            field=models.ForeignKey(default="2024", help_text="The first boundary set this seat belongs to.",
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="seats.boundaryset"),
        ),
        migrations.AlterField(
            model_name="seat", name="last_boundary_set",
            field=models.ForeignKey(default="2024", help_text="The last boundary set this seat belongs to.",
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="seats.boundaryset"),
        ),
        migrations.AddConstraint(
            model_name="seat",
            constraint=models.CheckConstraint(condition=models.Q(("boundary_set__lte", models.F("last_boundary_set"))),
                                              name="seat_boundary_sets_in_order"),
        ),
        migrations.AddField(model_name="seat", name="notional_year",
                            field=models.PositiveSmallIntegerField(blank=True, null=True)),
        migrations.AddField(model_name="seat", name="notional_winner",
                            field=models.CharField(blank=True, max_length=20)),
        migrations.AddField(model_name="seat", name="notional_majority",
                            field=models.PositiveIntegerField(blank=True, null=True)),
        migrations.AddField(model_name="seat", name="notional_majority_pct",
                            field=models.FloatField(blank=True, null=True)),
        # Postcodes and districts: new tables keyed by (set, code), the old rows copied in as the 2010 set.
        migrations.RenameModel("Postcode", "PostcodeOld"),
        migrations.RenameModel("PostcodeDistrict", "PostcodeDistrictOld"),
        migrations.CreateModel(
            name="Postcode",
            fields=[
                ("pk", models.CompositePrimaryKey("boundary_set", "postcode", blank=True, editable=False,
                                                  primary_key=True, serialize=False)),
                ("boundary_set", models.CharField(default="2024", max_length=4)),
                ("postcode", models.CharField(max_length=8)),
                ("lat", models.FloatField()),
                ("lng", models.FloatField()),
                ("seat", models.ForeignKey(blank=True, db_constraint=False, null=True,
                                           on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                           to="seats.seat")),
            ],
            options={"ordering": ["boundary_set", "postcode"]},
        ),
        migrations.CreateModel(
            name="PostcodeDistrict",
            fields=[
                ("pk", models.CompositePrimaryKey("boundary_set", "outcode", blank=True, editable=False,
                                                  primary_key=True, serialize=False)),
                ("boundary_set", models.CharField(default="2024", max_length=4)),
                ("outcode", models.CharField(max_length=4)),
                ("lat", models.FloatField()),
                ("lng", models.FloatField()),
                ("postcode_count", models.PositiveIntegerField(default=0)),
                ("seat", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                           related_name="+", to="seats.seat")),
            ],
            options={"ordering": ["boundary_set", "outcode"]},
        ),
        migrations.RunSQL(copy_sql("postcode", "postcode", "lat, lng, seat_id"), migrations.RunSQL.noop),
        migrations.RunSQL(copy_sql("postcodedistrict", "outcode", "lat, lng, postcode_count, seat_id"),
                          migrations.RunSQL.noop),
        migrations.DeleteModel("PostcodeOld"),
        migrations.DeleteModel("PostcodeDistrictOld"),
    ]
