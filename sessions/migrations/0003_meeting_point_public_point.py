"""Give every meeting point a public point and move every session onto it (issue 11: fuzzed locations).

Sessions copied the exact location; from here on they copy the public point. Each distinct exact location
gets one draw, shared by the meeting points and sessions there (past sessions too: the detail endpoint shows
their approximate location).
"""

import math
import secrets

from django.db import migrations, models

EARTH_RADIUS_KM = 6371.0088


def _draw(lat: float, lng: float, rng) -> tuple[float, float]:
    # A frozen copy of sessions.locations.public_point_draw (300-600 m, uniform by area).
    distance = math.sqrt(0.3 ** 2 + rng.random() * (0.6 ** 2 - 0.3 ** 2))
    phi1, lmb1 = math.radians(lat), math.radians(lng)
    delta, theta = distance / EARTH_RADIUS_KM, math.radians(rng.uniform(0.0, 360.0))
    phi2 = math.asin(math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta))
    lmb2 = lmb1 + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi1),
                             math.cos(delta) - math.sin(phi1) * math.sin(phi2))
    return math.degrees(phi2), math.degrees(lmb2)


def forwards(apps, schema_editor):
    MeetingPoint = apps.get_model("canvass", "MeetingPoint")
    CanvassSession = apps.get_model("canvass", "CanvassSession")
    rng = secrets.SystemRandom()
    drawn: dict[tuple[float, float], tuple[float, float]] = {}

    def public(lat, lng):
        if (lat, lng) not in drawn:
            drawn[(lat, lng)] = _draw(lat, lng, rng)
        return drawn[(lat, lng)]

    for point in MeetingPoint.objects.only("pk", "lat", "lng").iterator(chunk_size=2000):
        point.public_lat, point.public_lng = public(point.lat, point.lng)
        point.save(update_fields=["public_lat", "public_lng"])
    for session in CanvassSession.objects.only("pk", "lat", "lng").iterator(chunk_size=2000):
        session.lat, session.lng = public(session.lat, session.lng)
        session.save(update_fields=["lat", "lng"])


class Migration(migrations.Migration):

    dependencies = [
        ("canvass", "0002_covering_search_index"),
    ]

    operations = [
        migrations.AddField(model_name="meetingpoint", name="public_lat", field=models.FloatField(null=True)),
        migrations.AddField(model_name="meetingpoint", name="public_lng", field=models.FloatField(null=True)),
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(model_name="meetingpoint", name="public_lat", field=models.FloatField()),
        migrations.AlterField(model_name="meetingpoint", name="public_lng", field=models.FloatField()),
    ]
