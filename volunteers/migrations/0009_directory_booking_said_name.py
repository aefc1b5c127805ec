from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("volunteers", "0008_volunteer_email_consent"),
    ]

    operations = [
        migrations.AddField(
            model_name="booking",
            name="said_name",
            field=models.CharField(blank=True, max_length=40),
        ),
    ]
