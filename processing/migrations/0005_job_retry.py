from django.db import migrations, models
from django.utils import timezone


def cancel_items_left_running(apps, schema_editor) -> None:
    """Cancelling used to leave the item a worker held as "Running" in a cancelled job; it is cancelled."""
    JobItem = apps.get_model("processing", "JobItem")
    JobItem.objects.filter(job__status="CANCELLED", status__in=("WAITING", "RUNNING")).update(
        status="CANCELLED", finished_at=timezone.now(), error_message="The job was cancelled."
    )


class Migration(migrations.Migration):
    dependencies = [
        ("processing", "0004_scenes"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="attempts_at_retry",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.RunPython(cancel_items_left_running, migrations.RunPython.noop),
    ]
