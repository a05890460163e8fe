from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from catalog.signals import delete_stored_file

from .models import JobItem, Result


@receiver(post_delete, sender=Result)
def delete_result_file(sender, instance: Result, **kwargs) -> None:
    delete_stored_file(instance.file)


@receiver(post_delete, sender=JobItem)
def delete_item_input_files(sender, instance: JobItem, **kwargs) -> None:
    # Large inputs, such as a painted erase mask or refine strokes, live in storage beside the item's params.
    for key in ("mask_file", "strokes_file"):
        name = (instance.params or {}).get(key)
        if name:
            transaction.on_commit(lambda name=name: default_storage.delete(name))
