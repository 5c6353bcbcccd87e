"""Actions on the list of calls: poll a call's result now, and place a call again."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .. import results, sending
from ..exceptions import VoiceOTPError
from ..models import Call
from .display import provider_error_text


class CallActionsMixin:
    """For the calls' admin: the actions its list offers, named in its ``actions``."""

    @admin.action(description=_("Poll status now"), permissions=["change"])
    def poll_now(self, request, queryset):
        awaiting = list(queryset.filter(status=Call.Status.SENT).values_list("pk", flat=True))
        skipped = queryset.count() - len(awaiting)
        for call_id in awaiting:
            results.poll_call(call_id, force=True)
        finished = Call.objects.filter(pk__in=awaiting, status__in=Call.FINAL_STATUSES).count()
        if awaiting:
            self.message_user(
                request,
                ngettext(
                    "Polled %(count)d call; %(finished)d now has a result.",
                    "Polled %(count)d calls; %(finished)d now have a result.",
                    len(awaiting),
                )
                % {"count": len(awaiting), "finished": finished},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d call was not polled: only a call awaiting its result can be.",
                    "%(count)d calls were not polled: only a call awaiting its result can be.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    @admin.action(description=_("Call again with the same passcode"), permissions=["change"])
    def call_again(self, request, queryset):
        for call in queryset.select_related("campaign"):
            try:
                new_call = sending.call_again(call)
            except VoiceOTPError as err:
                self.message_user(
                    request,
                    gettext("Call %(id)s cannot be placed again: %(reason)s")
                    % {"id": call.pk, "reason": provider_error_text(str(err))},
                    messages.WARNING,
                )
            else:
                self.message_user(
                    request,
                    gettext("Call %(id)s is placed again as call %(new_id)s.")
                    % {"id": call.pk, "new_id": new_call.pk},
                    messages.SUCCESS,
                )
