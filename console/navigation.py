"""The console's navigation: one entry per page that exists. SPEC's pages come in this order: overview, people,
events, settings, roles, domains; each gets its line here when it is built (no link to a page that is not there)."""

from typing import NamedTuple


class Entry(NamedTuple):
    key: str
    label: str
    url_name: str


ENTRIES: tuple[Entry, ...] = (
    Entry("overview", "Overview", "console:home"),
    Entry("people", "People", "console:people"),
    Entry("events", "Events", "console:events"),
    Entry("settings", "Settings", "console:settings"),
    Entry("domains", "Email domains", "console:domains"),
    Entry("roles", "Roles", "console:roles"),
)
