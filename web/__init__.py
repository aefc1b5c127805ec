"""The server-rendered pages: a thin layer on top of every app's services and selectors.

``web.volunteer`` (no account), ``web.hosts`` (signed-in hosts) and ``web.coordinators`` (staff) each hold
their views, forms and urls; templates live under templates/web/<part>/. Pages hold no business rule:
they bind a form, call one service or selector, and render. Nothing below imports from here.
"""
