"""Campaign, Call, CallbackEvent, Verification: what was asked, answered and checked."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .payloads import StoredPayloadDecoder
from .phone import mask_phone_number


class Campaign(models.Model):
    campaign_id = models.CharField(
        _("provider campaign id"),
        max_length=64,
        unique=True,
        help_text=_("The campaign's id at the provider, e.g. c78af."),
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive campaigns place no new calls.")
    )
    provider = models.CharField(
        _("provider"),
        max_length=32,
        default="pitel",
        help_text=_("The provider the campaign belongs to: a name in VOICEOTP['PROVIDERS']."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["name", "campaign_id"]

    def __str__(self) -> str:
        return self.name or self.campaign_id


class CallQuerySet(models.QuerySet):
    def awaiting_result(self) -> CallQuerySet:
        return self.filter(status=Call.Status.SENT)

    def due_for_poll(self, now=None) -> CallQuerySet:
        return self.filter(status=Call.Status.SENT, next_poll_at__lte=now or timezone.now())

    def due_for_send(self, now=None) -> CallQuerySet:
        return self.filter(status=Call.Status.PENDING, next_attempt_at__lte=now or timezone.now())


class Call(models.Model):
    class Status(models.TextChoices):
        # A context per word: a "pending" call waits to be sent, a "pending" verification waits
        # for its code; translators need two msgids.
        PENDING = "pending", pgettext_lazy("call status", "pending")
        SENT = "sent", pgettext_lazy("call status", "sent")
        SUCCESS = "success", pgettext_lazy("call status", "success")
        FAILED = "failed", pgettext_lazy("call status", "failed")

    FINAL_STATUSES = (Status.SUCCESS, Status.FAILED)

    class FailureCode(models.TextChoices):
        """Why a call failed, as a code: stored so, counted by it (``metrics.failure_class``),
        shown in the reader's language; ``failure_reason`` holds its English words and detail."""

        EXPIRED = "expired", _("not sent: the passcode was too old")
        TIMEOUT = "timeout", _("no result came in time")
        REJECTED = "rejected", _("refused by the provider")
        PROVIDER_UNAVAILABLE = "provider_unavailable", _("the provider could not be reached")
        PASSCODE_UNREADABLE = (
            "passcode_unreadable",
            _("the passcode could not be read (SECRET_KEY changed)"),
        )
        REPLACED = "replaced", _("replaced by another call")
        NOT_REACHED = "not_reached", _("the person was not reached")
        PROVIDER_FAILED = "provider_failed", _("the provider reported a failure")
        LIMITED = "limited", _("not placed again: a spending limit was reached")
        PAUSED = "paused", _("not placed: sending is paused")

    class FallbackStatus(models.TextChoices):
        NONE = "", pgettext_lazy("fallback status", "not used")
        PENDING = "pending", pgettext_lazy("fallback status", "to be sent")
        RUNNING = "running", pgettext_lazy("fallback status", "being sent")
        SENT = "sent", pgettext_lazy("fallback status", "sent")
        FAILED = "failed", pgettext_lazy("fallback status", "failed (the sender kept raising)")
        EXPIRED = "expired", pgettext_lazy("fallback status", "not sent (passcode too old)")

    class FallbackDelivery(models.TextChoices):
        """What the fallback's gateway last reported of the message's delivery to the phone
        (eSMS's delivery report); a reported delivery or refusal is final."""

        UNKNOWN = "", pgettext_lazy("fallback delivery", "not reported")
        WAITING = "waiting", pgettext_lazy("fallback delivery", "waiting for the phone")
        DELIVERED = "delivered", pgettext_lazy("fallback delivery", "delivered")
        UNDELIVERED = "undelivered", pgettext_lazy("fallback delivery", "not delivered")

    FINAL_DELIVERIES = (FallbackDelivery.DELIVERED, FallbackDelivery.UNDELIVERED)

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="calls", verbose_name=_("campaign")
    )
    phone_number = models.CharField(
        _("phone number"), max_length=32, help_text=_("As sent to the provider.")
    )
    # Sealed (sealing.py), never in clear; kept while the delivery may still need it (a retried
    # send, a redial, the fallback) and erased when it ends or the passcode is too old.
    otp = models.CharField(max_length=255, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    provider = models.CharField(
        _("provider"),
        max_length=32,
        default="pitel",
        editable=False,
        help_text=_("The provider that places the call (its campaign's)."),
    )
    provider_call_id = models.CharField(
        _("provider call id"),
        max_length=255,
        null=True,
        blank=True,
        # Unique per provider (Meta.constraints): two providers may give the same id.
        help_text=_("The provider's id of the call, once it accepted it."),
    )
    raw_status = models.CharField(
        _("provider status"),
        max_length=64,
        blank=True,
        help_text=_("The result exactly as the provider spelled it."),
    )
    failure_code = models.CharField(
        _("failure code"),
        max_length=32,
        blank=True,
        choices=FailureCode.choices,
        help_text=_("Why the call failed, as a code; the failure reason adds the detail."),
    )
    failure_reason = models.CharField(_("failure reason"), max_length=255, blank=True)
    duration = models.PositiveIntegerField(_("duration (s)"), null=True, blank=True)
    started_at = models.DateTimeField(_("call started"), null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    next_attempt_at = models.DateTimeField(
        _("next send attempt"),
        null=True,
        blank=True,
        help_text=_("While pending: when the sweeper should (re)send the call."),
    )
    redial_of = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="redial",
        verbose_name=_("redial of"),
        help_text=_("The call that was not answered and that this call places again."),
    )
    attempt = models.PositiveSmallIntegerField(
        _("attempt"),
        default=1,
        editable=False,
        help_text=_("1 for the first call of a delivery, 2 for its first redial, and so on."),
    )
    fallback_status = models.CharField(
        _("fallback"),
        max_length=16,
        blank=True,
        editable=False,
        choices=FallbackStatus.choices,
        help_text=_("Whether the passcode was handed to FALLBACK_SENDER after this call failed."),
    )
    fallback_attempts = models.PositiveSmallIntegerField(_("fallback attempts"), default=0)
    fallback_next_at = models.DateTimeField(_("next fallback attempt"), null=True, blank=True)
    fallback_sent_at = models.DateTimeField(_("fallback sent"), null=True, blank=True)
    fallback_message_id = models.CharField(
        _("fallback message id"),
        max_length=64,
        blank=True,
        editable=False,
        help_text=_("The gateway's id of the fallback message (eSMS's SMSID)."),
    )
    fallback_delivery = models.CharField(
        _("fallback delivery"),
        max_length=16,
        blank=True,
        editable=False,
        choices=FallbackDelivery.choices,
        help_text=_("Whether the fallback message reached the phone, as the gateway reports it."),
    )
    poll_count = models.PositiveSmallIntegerField(_("polls"), default=0)
    next_poll_at = models.DateTimeField(_("next poll"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    is_test = models.BooleanField(
        _("test"),
        default=False,
        help_text=_("For a number in TEST_NUMBERS: recorded, never placed with the provider."),
    )

    objects = CallQuerySet.as_manager()

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-created_at"]
        constraints = [
            # The id first: its index also serves a look-up by the id alone (the admin's search).
            models.UniqueConstraint(
                fields=["provider_call_id", "provider"], name="voiceotp_call_provider_id_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_poll_at"], name="voiceotp_call_poll_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="voiceotp_call_send_idx"),
            models.Index(fields=["phone_number"], name="voiceotp_call_phone_idx"),
            models.Index(fields=["created_at"], name="voiceotp_call_created_idx"),
            models.Index(fields=["campaign", "created_at"], name="voiceotp_call_campaign_idx"),
            # The sweeper erases passcodes older than OTP_MAX_AGE: only rows still holding one.
            models.Index(
                fields=["created_at"], condition=~models.Q(otp=""), name="voiceotp_call_sealed_idx"
            ),
        ]

    def __str__(self) -> str:
        # Shown in the admin, so translated; the number masked as everywhere outside the database.
        return _("Call %(id)s to %(phone)s (%(status)s)") % {
            "id": self.pk,
            "phone": self.masked_phone_number,
            "status": self.get_status_display(),
        }

    def __repr__(self) -> str:
        return f"<Call {self.pk} {self.status} {self.masked_phone_number}>"

    @property
    def masked_phone_number(self) -> str:
        return mask_phone_number(self.phone_number)

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES


#: The English words of each failure code in ``Call.failure_reason``, as logs and the receivers
#: of ``call_failed`` have always read them; the provider's own status stands for its failures.
FAILURE_WORDS: dict[str, str] = {
    Call.FailureCode.EXPIRED: "expired",
    Call.FailureCode.TIMEOUT: "timeout",
    Call.FailureCode.REJECTED: "rejected",
    Call.FailureCode.PROVIDER_UNAVAILABLE: "provider unavailable",
    Call.FailureCode.PASSCODE_UNREADABLE: "passcode unreadable",
    Call.FailureCode.REPLACED: "replaced by call",
    Call.FailureCode.NOT_REACHED: "",
    Call.FailureCode.PROVIDER_FAILED: "",
    Call.FailureCode.LIMITED: "not placed again: a spending limit was reached",
    Call.FailureCode.PAUSED: "not placed: sending is paused",
}


def failure_reason(code: str, detail: str = "") -> str:
    """The ``failure_reason`` of a call failed with ``code``: its words, then ``detail`` (the
    provider's message, the new call's id); for a status the provider reported, that status."""
    words = FAILURE_WORDS.get(code, "")
    if not words:
        text = detail or "failed"
    elif not detail:
        text = words
    elif code == Call.FailureCode.REPLACED:
        text = f"{words} {detail}"
    else:
        text = f"{words}: {detail}"
    return text[:255]


class CallbackEvent(models.Model):
    """One request to the callback door, or, for requests without a valid token, a run of them.

    Stored as received but made storable (no NUL, no lone surrogate) and with every passcode
    redacted; of a request without a valid token, only its facts and the start of its body.
    """

    class Verdict(models.TextChoices):
        APPLIED = "applied", _("applied")
        DUPLICATE = "duplicate", _("duplicate (call already final)")
        IN_PROGRESS = "in_progress", _("recorded (call still in progress)")
        BAD_TOKEN = "bad_token", _("rejected: bad token")
        MALFORMED = "malformed", _("rejected: malformed")
        MISMATCH = "mismatch", _("rejected: call id mismatch")
        TOO_LARGE = "too_large", _("rejected: body too large")
        EARLY = "early", _("recorded (came before the provider accepted the call)")

    class Reason(models.TextChoices):
        """Why the verdict, as a code: stored so, shown in the reader's language."""

        APPLIED = "applied", _("The result was applied to the call.")
        ALREADY_FINAL = "already_final", _("The call already had its result.")
        IN_PROGRESS = "in_progress", _("The call is still in progress.")
        BAD_TOKEN = "bad_token", _("The callback token is not valid or has expired.")
        TOO_LARGE = "too_large", _("The body is larger than allowed.")
        LENGTH_REQUIRED = "length_required", _("The body came without a length (chunked).")
        WRONG_CONTENT_TYPE = "wrong_content_type", _("The content type is not JSON.")
        NOT_JSON = "not_json", _("The body is not JSON that can be read.")
        NOT_REPORT = "not_report", _("The body is not a call report with call_id and status.")
        BAD_VALUE = "bad_value", _("A value of the report cannot be used.")
        CALL_ID_MISMATCH = "call_id_mismatch", _("The call_id is not this call's.")
        CALL_ID_TAKEN = "call_id_taken", _("The call_id belongs to another call.")
        UNSTORABLE = "unstorable", _("The request could not be stored as received.")
        EARLY = (
            "early",
            _(
                "The provider had not yet accepted the call: applied only if its call_id proves to "
                "be the one the provider gives."
            ),
        )
        CALL_FINISHED = (
            "call_finished",
            _("The call had its result long before: its callback token is no longer accepted."),
        )

    REJECTED = (Verdict.BAD_TOKEN, Verdict.MALFORMED, Verdict.MISMATCH, Verdict.TOO_LARGE)

    call = models.ForeignKey(
        Call,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="callback_events",
        verbose_name=_("call"),
    )
    payload = models.JSONField(
        _("payload"),
        null=True,
        blank=True,
        # Rows stored by older versions may be nested too deep to read back as Python.
        decoder=StoredPayloadDecoder,
        help_text=_("The JSON received, with the keypress redacted."),
    )
    raw_body = models.TextField(
        _("raw body"), blank=True, help_text=_("The body as received, when it was not JSON.")
    )
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices)
    reason = models.CharField(_("detail"), max_length=32, blank=True, choices=Reason.choices)
    body_size = models.PositiveIntegerField(_("body size (bytes)"), null=True, blank=True)
    count = models.PositiveIntegerField(
        _("requests"),
        default=1,
        help_text=_(
            "Rejected requests from one network, and repeated requests for a call that has its "
            "result, are counted on one event."
        ),
    )
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    remote_network = models.CharField(
        _("remote network"),
        max_length=64,
        blank=True,
        help_text=_(
            "What rejected requests are counted by: the address, or an IPv6 address's /64; "
            "* for the requests past the hourly cap, from anywhere."
        ),
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    last_received_at = models.DateTimeField(_("last received"), null=True, blank=True)

    class Meta:
        verbose_name = _("callback event")
        verbose_name_plural = _("callback events")
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["received_at"], name="voiceotp_event_received_idx"),
            models.Index(fields=["verdict", "received_at"], name="voiceotp_event_verdict_idx"),
            # The look-up of a rejection's run (callbacks.rejections.record_counted): requests
            # without a valid token only, so the index stays as small as the runs it finds.
            models.Index(
                fields=["remote_network", "verdict", "received_at"],
                condition=models.Q(call__isnull=True),
                name="voiceotp_event_rejection_idx",
            ),
            # How many rejection rows the last hour holds, against the site-wide cap.
            models.Index(
                fields=["received_at"],
                condition=models.Q(call__isnull=True),
                name="voiceotp_event_rejected_at_idx",
            ),
        ]

    def __str__(self) -> str:
        return _("Callback %(id)s (%(verdict)s)") % {
            "id": self.pk,
            "verdict": self.get_verdict_display(),
        }


class VerificationQuerySet(models.QuerySet):
    def for_phone_number(self, phone_number: str) -> VerificationQuerySet:
        return self.filter(phone_number=phone_number)

    def pending(self, now=None) -> VerificationQuerySet:
        """Codes that can still be checked: neither used, locked, replaced nor expired."""
        return self.filter(state=Verification.State.PENDING, expires_at__gt=now or timezone.now())


class Verification(models.Model):
    """One code sent to one number, and what became of it. Only a keyed hash of the code is kept."""

    class State(models.TextChoices):
        PENDING = "pending", pgettext_lazy("verification state", "pending")
        VERIFIED = "verified", pgettext_lazy("verification state", "verified")
        LOCKED = "locked", pgettext_lazy("verification state", "locked (too many wrong codes)")
        SUPERSEDED = "superseded", pgettext_lazy("verification state", "superseded by a newer code")

    # Random, so the id a client holds tells nothing about other verifications.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    phone_number = models.CharField(
        _("phone number"), max_length=32, help_text=_("Normalised, as sent to the provider.")
    )
    code_hash = models.CharField(
        _("code hash"),
        max_length=128,
        editable=False,
        help_text=_("HMAC of the code under a key derived from SECRET_KEY; never the code."),
    )
    call = models.ForeignKey(
        Call,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verifications",
        verbose_name=_("call"),
        help_text=_("The call that reads the code."),
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveSmallIntegerField(
        _("wrong attempts"), default=0, help_text=_("Wrong codes tried against this one.")
    )
    client_ip = models.GenericIPAddressField(
        _("client IP"), null=True, blank=True, help_text=_("Who asked for the code, if known.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(
        _("expires"), help_text=_("After this the code is refused even if right.")
    )
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    is_test = models.BooleanField(
        _("test"),
        default=False,
        help_text=_("For a number in TEST_NUMBERS: its fixed code, and no call placed."),
    )

    objects = VerificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["phone_number", "created_at"], name="voiceotp_verif_phone_idx"),
            models.Index(fields=["created_at"], name="voiceotp_verif_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Verification of {self.masked_phone_number} ({self.state})"

    def __repr__(self) -> str:
        return f"<Verification {self.pk} {self.state} {self.masked_phone_number}>"

    @property
    def masked_phone_number(self) -> str:
        return mask_phone_number(self.phone_number)

    @property
    def is_expired(self) -> bool:
        return self.state == self.State.PENDING and self.expires_at <= timezone.now()
