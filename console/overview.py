"""/org/: the overview (SPEC "The customer console"). The sign-in health support staff see on their panel, from the
same implementation (activity.health: sign-ins only), the last connection check with "Check now", provisioning's
last call, the breaker when Okta is refused for now, and the values for the organisation's Inigo app in Okta.

POST `action=check` runs a connection check of the saved values now: it asks the policy (CONNECTION_CHECK) but no
recent sign-in, as it changes nothing (SPEC: every POST but `action=check` and `action=sign_out` needs one)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from accounts.models import User
from accounts.policy import Action, allowed
from activity.health import tenant_health
from console.access import action_refused, bad_request, console_page, console_render
from okta.connection import ConnectionReport
from tenants import links
from tenants.services import connection_check_record, tenant_connection_check

# "Check now" per organisation: each check sends up to three requests to the organisation's Okta, takes one of the
# few check slots a server has (okta.provider.check_slot) and writes its result. A person fixing their Okta clicks
# it a few times a minute; a script that clicks it all day would fill the slots and the table for nothing.
CHECKS_PER_MINUTE = 6
CHECKS_PER_ORGANISATION = f"{CHECKS_PER_MINUTE}/m"  # django-ratelimit's rate


@require_http_methods(["GET", "POST"])
@console_page
def overview_page(request: HttpRequest, actor: User) -> HttpResponse:
    if request.method == "POST":
        return _check_now(request, actor)
    tenant = actor.tenant
    origin = links.origin_of(request)
    scim_base = links.OktaValue("SCIM connector base URL", links.scim_base_url(origin=origin),
                                "Provisioning tab, Integration: SCIM connector base URL (with the SCIM token "
                                "from Settings).")
    context = {
        "section": "overview", "health": tenant_health(tenant=tenant),
        "okta_values": [*links.okta_app_values(tenant.slug, origin=origin), scim_base],
        "may_check": allowed(actor, Action.CONNECTION_CHECK, tenant),
    }
    return console_render(request, "console/overview.html", context)


def _check_now(request: HttpRequest, actor: User) -> HttpResponse:
    if request.POST.get("action", "") != "check":
        return bad_request(request, "Inigo did not recognise what this form asked for. Reload the page and try again.")
    tenant = actor.tenant
    if not allowed(actor, Action.CONNECTION_CHECK, tenant):
        return action_refused(request, why="Only the owner and admins run a connection check. Nothing was checked.")
    if is_ratelimited(request, group="console-check", key=lambda _group, _request: str(tenant.pk),
                      rate=CHECKS_PER_ORGANISATION, increment=True):
        # Counted per click, a busy check's too: "asked for", not "ran".
        messages.warning(request, f"The check did not run: your organisation asked for {CHECKS_PER_MINUTE} connection "
                                  "checks in the last minute. Nothing is known to be wrong; click Check now again in a "
                                  "minute.")
        return HttpResponseRedirect(reverse("console:home"))
    report = tenant_connection_check(tenant, origin=links.origin_of(request))
    # A check that did not run (busy) is not kept: it says nothing of the tenant (tenants.services).
    connection_check_record(tenant=tenant, report=report)
    _say(request, report)
    return HttpResponseRedirect(reverse("console:home"))


def _say(request: HttpRequest, report: ConnectionReport) -> None:
    if report.busy_retry_in is not None:
        messages.warning(request, f"The check did not run: Inigo is busy with other requests to your Okta right now. "
                                  f"Nothing is known to be wrong; click Check now again in {report.busy_retry_in} "
                                  "seconds.")
    elif report.ok:
        messages.success(request, "Connection check passed: your Okta answers, and it accepts Inigo's Client ID and "
                                  "Client Secret.")
    else:
        messages.error(request, "Connection check found problems: see what is wrong under Last connection check, fix "
                                "it in your Okta or in Settings, then click Check now again.")
