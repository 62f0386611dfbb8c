import os

from django.core.wsgi import get_wsgi_application

# Whatever server runs us: files we create (the SQLite database and its journal, documents, reports,
# temporary exports) are the service user's alone.
os.umask(0o077)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tousu.settings")
application = get_wsgi_application()
