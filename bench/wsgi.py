"""The WSGI application gunicorn serves in the benchmark; DJANGO_SETTINGS_MODULE (bench.settings,
bench.stock_settings or an --alt-settings module such as bench.floor) says which. With BENCH_COMPONENTS=<directory>
(`python -m bench --components`) the application is wrapped in the CPU profile by component
(bench/component_profile.py): on all three sides alike, and around Django's whole handler."""

import os

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

if os.environ.get("BENCH_COMPONENTS"):
    from bench.component_profile import ComponentProfile

    application = ComponentProfile(application, os.environ["BENCH_COMPONENTS"])
