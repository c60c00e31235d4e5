"""/org/events/: the tenant's events, newest first, 50 a page (activity.events: keyset paging, both tables)."""

from django.http import HttpRequest, HttpResponse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from accounts.events import EventKind
from accounts.models import LoginEvent, User
from activity.events import EventFilter, events_page
from console.access import console_page, console_render


@require_GET
@console_page
def events_list(request: HttpRequest, actor: User) -> HttpResponse:
    wanted = EventFilter.from_query(request.GET.dict())
    page = events_page(actor.tenant, wanted)
    context = {
        "section": "events", "wanted": wanted, "page": page, "kinds": EventKind.choices,
        "outcomes": LoginEvent.Outcome.choices,
        "next_url": _page_url(wanted, page.next.token()) if page.next else "",
        "first_url": _page_url(wanted, "") if wanted.before else "",
    }
    return console_render(request, "console/events.html", context)


def _page_url(wanted: EventFilter, before: str) -> str:
    query = {"kind": wanted.kind, "outcome": wanted.outcome, "q": wanted.q, "before": before}
    return "?" + urlencode({name: value for name, value in query.items() if value})
