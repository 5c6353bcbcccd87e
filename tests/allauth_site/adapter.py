from django_voiceotp.contrib.allauth.adapter import VoiceOTPAccountAdapter

from .models import PhoneNumber


class AccountAdapter(VoiceOTPAccountAdapter):
    """The ready adapter, with the phone storage every allauth project writes for itself."""

    def set_phone(self, user, phone, verified):
        PhoneNumber.objects.update_or_create(
            user=user, defaults={"phone": phone, "verified": verified}
        )

    def get_phone(self, user):
        found = PhoneNumber.objects.filter(user=user).first()
        return (found.phone, found.verified) if found else None

    def set_phone_verified(self, user, phone):
        PhoneNumber.objects.filter(user=user, phone=phone).update(verified=True)

    def get_user_by_phone(self, phone):
        found = PhoneNumber.objects.select_related("user").filter(phone=phone).first()
        return found.user if found else None
