from django.db.models.signals import post_delete
from django.dispatch import receiver

from catalog.signals import delete_stored_file

from .models import Result


@receiver(post_delete, sender=Result)
def delete_result_file(sender, instance: Result, **kwargs) -> None:
    delete_stored_file(instance.file)
