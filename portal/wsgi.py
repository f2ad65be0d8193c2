import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# gunicorn runs no system checks: without collected static files every page would be a
# 500, so the server refuses to start and says what to run.
from portal.checks import require_collected_static  # noqa: E402

require_collected_static()
