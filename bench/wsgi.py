"""The WSGI application gunicorn serves in the benchmark; DJANGO_SETTINGS_MODULE (bench.settings or
bench.stock_settings) says which."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
