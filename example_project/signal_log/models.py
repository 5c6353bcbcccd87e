"""One row per call signal received."""

import os

from django.db import models


class SignalRecord(models.Model):
    signal = models.CharField(max_length=32)
    # Not a foreign key: a record must outlive the call, and never block deleting it.
    call_id = models.BigIntegerField(db_index=True)
    old_status = models.CharField(max_length=16, blank=True)
    new_status = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(default=os.getpid)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.signal} for call {self.call_id}"
