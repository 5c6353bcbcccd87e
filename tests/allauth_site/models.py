from django.conf import settings
from django.db import models


class PhoneNumber(models.Model):
    """Where this project keeps a user's phone, as allauth leaves that to the project."""

    id = models.AutoField(primary_key=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    phone = models.CharField(max_length=32, unique=True)
    verified = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"phone of user {self.user_id}"
