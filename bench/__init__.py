"""What a login costs: `make bench` (python -m bench) times full logins against inigo-sso and against stock
mozilla-django-oidc, both served by gunicorn on PostgreSQL, with a local OpenID Provider on loopback.

Not part of the app: nothing under accounts/, tenants/ or inigo_sso/ imports from here. See docs/benchmarks.md.
"""
