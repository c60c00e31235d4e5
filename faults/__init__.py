"""`make faults`: real traffic against two gunicorn app servers, PostgreSQL, Redis and the local provider of
`make run` (devidp), with one fault injected at a time; one table of what the people saw (docs/reliability.md)."""
