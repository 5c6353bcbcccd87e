"""Models: migrations in step with the code, and no secret in any representation."""

import pytest
from django.core.management import call_command

from django_voiceotp.models import Call, Campaign
from django_voiceotp.sealing import seal_otp


@pytest.mark.django_db
def test_models_match_migrations():
    call_command("makemigrations", "django_voiceotp", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_call_reprs_hide_the_otp_and_mask_the_number():
    campaign = Campaign.objects.create(campaign_id="c78af")
    call = Call.objects.create(campaign=campaign, phone_number="0771122330", otp=seal_otp("482915"))
    for text in (str(call), repr(call)):
        assert "482915" not in text
        assert "0771122330" not in text
        assert "077****330" in text
