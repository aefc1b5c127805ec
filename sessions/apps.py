from django.apps import AppConfig


class CanvassSessionsConfig(AppConfig):
    # django.contrib.sessions already owns the label "sessions".
    name = "sessions"
    label = "canvass"
    verbose_name = "Front rooms and canvass sessions"
