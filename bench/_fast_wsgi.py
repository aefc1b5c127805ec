"""The app's WSGI application with the sessions_near prototype swapped in (bench/search.py only)."""

from config.wsgi import application  # noqa: F401, I001 - sets up Django before any model import

from bench._fast_search import sessions_near_fast
from sessions import api

api.selectors.sessions_near = sessions_near_fast
