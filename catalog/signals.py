"""Files follow their rows: when an image row goes, its files go once the deletion commits."""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import ProductImage


def delete_stored_file(field_file) -> None:
    if not field_file or not field_file.name:
        return
    storage, name = field_file.storage, field_file.name
    transaction.on_commit(lambda: storage.delete(name))


@receiver(post_delete, sender=ProductImage)
def delete_image_files(sender, instance: ProductImage, **kwargs) -> None:
    delete_stored_file(instance.file)
    delete_stored_file(instance.thumbnail)
