"""What the verification endpoints read and write."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .exceptions import InvalidPhoneNumber, PhoneNumberNotAllowed
from .limits import allowed_number
from .models import Verification
from .verification import without_separators

#: Up to 16 digits, with spaces or dashes between them if the person typed the code in groups
#: ("705 341", as the code is read out). Kept the same in openapi.yaml.
CODE_PATTERN = r"^[ -]*(?:[0-9][ -]*){1,16}$"


class VerificationRequestSerializer(serializers.Serializer):
    phone_number = serializers.CharField(
        max_length=32, help_text=_("The number to call, in any common spelling.")
    )

    def validate_phone_number(self, value: str) -> str:
        # The one parse of the number for this request: the view hands the result on to
        # request_code, which counts it against the limits without parsing it again.
        try:
            return allowed_number(value)
        except PhoneNumberNotAllowed as err:
            raise serializers.ValidationError(_("This number cannot be called.")) from err
        except InvalidPhoneNumber as err:
            raise serializers.ValidationError(_("Enter a valid phone number.")) from err


class VerificationCreatedSerializer(serializers.ModelSerializer):
    class Meta:
        model = Verification
        fields = ["id", "expires_at"]


class VerificationStatusSerializer(serializers.ModelSerializer):
    # The call's progress, for a "calling…" spinner; nothing about the code or its checks.
    call_status = serializers.CharField(source="call.status", default=None, read_only=True)

    class Meta:
        model = Verification
        fields = ["id", "expires_at", "call_status"]


class CodeCheckSerializer(serializers.Serializer):
    code = serializers.RegexField(
        CODE_PATTERN,
        help_text=_("The code the person heard."),
        error_messages={"invalid": _("Enter the code you heard: digits only.")},
    )

    def validate_code(self, value: str) -> str:
        return without_separators(value)
