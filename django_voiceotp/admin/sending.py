"""The Sending page: the site's budget and the switch that pauses every call, on the calls' admin.

The switch is kept in the limits cache, so pausing stops every process at once; the list of
calls says when nothing can be placed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext

from .. import breaker, limits
from ..conf import voiceotp_settings
from ..models import Call

logger = logging.getLogger("django_voiceotp")

if TYPE_CHECKING:
    # What the mixin is mixed into, for the type checker only.
    _ModelAdmin = admin.ModelAdmin
else:
    _ModelAdmin = object


@dataclass(frozen=True)
class Spending:
    """What the limits cache says of the site's budget and the switch, or why it cannot say."""

    paused: bool = False
    budget: tuple[limits.BudgetUse, ...] = ()
    #: Each provider's circuit breaker (breaker.py), kept in the same cache.
    breakers: tuple[breaker.BreakerState, ...] = ()
    #: The class of the error that kept the cache from answering, else empty.
    error: str = ""


def read_spending(request) -> Spending:
    """The site's budget and the switch, read once per request.

    Any error is caught: the limits cache may be down (Redis unreachable) or refused (a
    non-atomic backend), and that incident is when operators most need the admin. It is logged
    once, by its class only (a cache's message may hold its address and password).
    """
    cached = getattr(request, "_voiceotp_spending", None)
    if cached is not None:
        return cached
    try:
        # The budget first: a refused cache raises before the switch is read from it.
        budget = tuple(limits.site_budget())
        spending = Spending(
            paused=limits.sending_paused(), budget=budget, breakers=tuple(breaker.states())
        )
    except Exception as error:  # noqa: BLE001 -- whatever the cache raises, the page renders
        logger.warning(
            "The site budget cannot be read from the limits cache: %s", type(error).__name__
        )
        spending = Spending(error=type(error).__name__)
    request._voiceotp_spending = spending
    return spending


def spending_messages(request) -> list[str]:
    """What the list of calls says when no call can be placed: the site's budget is reached,
    sending is paused, or the budget cannot be read; and when a provider's circuit breaker is
    open. Each links to the page that shows the budget, the breakers and the switch."""
    spending = read_spending(request)
    url = reverse("admin:django_voiceotp_call_sending")
    texts = []
    if spending.error:
        texts.append(
            gettext("The site budget cannot be read: %(error)s.") % {"error": spending.error}
        )
    if spending.paused:
        texts.append(gettext("Sending is paused: no call or fallback message is placed."))
    for use in spending.budget:
        if not use.reached:
            continue
        texts.append(
            gettext(
                "Site budget reached: %(limit)s has used %(used)d of %(count)d; nothing more is "
                "placed for %(seconds)d s."
            )
            % {"limit": use.name, "used": use.used, "count": use.count, "seconds": use.resets_in}
        )
    for state in spending.breakers:
        if state.state == breaker.OPEN:
            texts.append(
                gettext(
                    "The circuit breaker of %(provider)s is open: its calls go to the next "
                    "provider of FAILOVER for %(seconds)d s."
                )
                % {"provider": state.provider, "seconds": state.retry_in}
            )
        elif state.state == breaker.HALF_OPEN:
            texts.append(
                gettext("The circuit breaker of %(provider)s is half-open: one call tests it.")
                % {"provider": state.provider}
            )
    return [format_html('{} <a href="{}">{}</a>', text, url, gettext("Sending")) for text in texts]


class SendingPageMixin(_ModelAdmin):
    """For the calls' admin: the Sending page at ``sending/``, and its messages on the list."""

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            for message in spending_messages(request):
                self.message_user(request, message, messages.ERROR)
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        sending = path(
            "sending/",
            self.admin_site.admin_view(self.sending_view),
            name="django_voiceotp_call_sending",
        )
        return [sending, *super().get_urls()]

    def sending_view(self, request):
        """The site's budget and the kill switch: pausing stops every call and fallback message
        in every process at once (the switch is kept in the limits cache)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        may_switch = self.has_change_permission(request)
        if request.method == "POST":
            if not may_switch:
                raise PermissionDenied
            if "pause" in request.POST:
                self._switch(request, "pause", limits.pause_sending)
            elif "resume" in request.POST:
                self._switch(request, "resume", limits.resume_sending)
            return HttpResponseRedirect(request.path)
        spending = read_spending(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Sending"),
            "spending": spending,
            "paused_by_setting": bool(voiceotp_settings.SENDING_PAUSED),
            "may_switch": may_switch,
        }
        return TemplateResponse(request, "admin/django_voiceotp/call/sending.html", context)

    def _switch(self, request, action: str, flip) -> None:
        """Pause or resume sending, say so, and keep who did it: the WARNING line names the
        user's pk, for whoever looks back at an outage or at a bill."""
        try:
            flip()
        except Exception as error:  # noqa: BLE001 -- a cache that fails is said, not a 500
            logger.warning(
                "Sending could not be %s from the admin by user pk=%s: %s",
                "paused" if action == "pause" else "resumed",
                request.user.pk,
                type(error).__name__,
            )
            text = (
                gettext("Sending could not be paused: %(error)s.")
                if action == "pause"
                else gettext("Sending could not be resumed: %(error)s.")
            )
            self.message_user(request, text % {"error": type(error).__name__}, messages.ERROR)
            return
        # Also in the admin's own history ("Recent actions"), on the calls' model: the switch
        # is no object, so the entry has no object id.
        LogEntry.objects.create(
            user_id=request.user.pk,
            content_type=ContentType.objects.get_for_model(Call),
            object_repr=gettext("Sending"),
            action_flag=CHANGE,
            change_message="Paused sending." if action == "pause" else "Resumed sending.",
        )
        if action == "pause":
            logger.warning("Sending paused from the admin by user pk=%s.", request.user.pk)
            self.message_user(request, gettext("Sending is paused."), messages.WARNING)
        else:
            logger.warning("Sending resumed from the admin by user pk=%s.", request.user.pk)
            self.message_user(request, gettext("Sending is resumed."), messages.SUCCESS)
