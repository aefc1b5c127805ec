from datetime import timedelta

from django.db import migrations, models
from django.db.models import F
from django.utils import timezone


def hold_from_now(apps, schema_editor):
    # Places held unproven when this ships keep one code lifetime from now (the 24 h hold is gone).
    Booking = apps.get_model("volunteers", "Booking")
    Booking.objects.filter(proven_at__isnull=True, status__in=["pending", "confirmed", "waitlisted"]).update(
        held_since=F("created_at"), held_until=timezone.now() + timedelta(minutes=15))


class Migration(migrations.Migration):
    dependencies = [("volunteers", "0008_volunteer_email_consent")]

    operations = [
        migrations.AddField(model_name="booking", name="held_since",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="booking", name="held_until",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.RemoveIndex(model_name="booking", name="booking_unproven"),
        migrations.AddIndex(model_name="booking", index=models.Index(
            condition=models.Q(("proven_at__isnull", True), ("status__in", ["pending", "confirmed", "waitlisted"])),
            fields=["held_until"], name="booking_unproven_hold")),
        migrations.RunPython(hold_from_now, migrations.RunPython.noop, elidable=True),
    ]
