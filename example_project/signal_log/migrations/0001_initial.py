import os

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="SignalRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("signal", models.CharField(max_length=32)),
                ("call_id", models.BigIntegerField(db_index=True)),
                ("old_status", models.CharField(blank=True, max_length=16)),
                ("new_status", models.CharField(blank=True, max_length=16)),
                ("reason", models.CharField(blank=True, max_length=255)),
                ("pid", models.IntegerField(default=os.getpid)),
                ("received_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
