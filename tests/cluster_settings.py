"""Production settings for the app servers tests start (tests/test_multiprocess.py running_cluster): as they are,
except that static files are served by name, as in tests/settings.py, so that pages (failure pages included)
render without a collectstatic for each run."""

from inigo_sso.settings import *  # noqa: F403

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
