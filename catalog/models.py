from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.text import slugify

from processing.engines.imageio import DecodedImage, decode_image

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class Category(models.IntegerChoices):
    """The 11 product categories of the Aidge scene API (seeds/aidge-scene-query.txt)."""

    GENERAL = 1, "General Purpose"
    ELECTRONICS = 2, "Consumer Electronics"
    HOME_GARDEN = 3, "Home & Garden"
    AUTOMOBILES = 4, "Automobiles, Parts & Accessories"
    COMPUTER_OFFICE = 5, "Computer & Office"
    SPORTS = 6, "Sports & Entertainment"
    CLOTHING = 7, "Clothing"
    BEAUTY_HEALTH = 8, "Beauty & Health"
    TOOLS = 9, "Tools"
    TOYS = 10, "Toys & Hobbies"
    PHONES = 11, "Phones & Telecommunications"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


class Team(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Queries per second allowed on the HTTP API; 0 means the site-wide default.
    api_rate_limit = models.PositiveIntegerField(default=0)
    # Job results older than this many days are deleted by the maintenance task; 0 keeps them.
    result_retention_days = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def create_with_owner(cls, name: str, owner: AbstractBaseUser) -> Team:
        with transaction.atomic():
            team = cls.objects.create(name=name, slug=cls._unique_slug(name))
            Membership.objects.create(team=team, user=owner, role=Role.OWNER)
        return team

    @classmethod
    def _unique_slug(cls, name: str) -> str:
        base = slugify(name)[:100] or "team"
        return f"{base}-{secrets.token_hex(3)}"


class MembershipQuerySet(models.QuerySet):
    def for_user(self, user: AbstractBaseUser) -> MembershipQuerySet:
        return self.filter(user=user).select_related("team")


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["team__name"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_edit(self) -> bool:
        return self.role in (Role.OWNER, Role.EDITOR)

    @property
    def can_manage(self) -> bool:
        return self.role == Role.OWNER


INVITATION_LIFETIME = timedelta(days=7)


class InvitationQuerySet(models.QuerySet):
    def usable(self) -> InvitationQuerySet:
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, editable=False)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    email = models.EmailField(
        blank=True, help_text="Who the link is meant for; anyone with the link can use it."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation to {self.team} as {self.role}"

    def save(self, *args, **kwargs) -> None:
        if not self.token:
            self.token = secrets.token_urlsafe(32)
        if not self.expires_at:
            self.expires_at = timezone.now() + INVITATION_LIFETIME
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("catalog:invitation_accept", args=[self.token])

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()

    def accept(self, user: AbstractBaseUser) -> Membership | None:
        """Join the team; returns None when the link was used, revoked or expired meanwhile."""
        with transaction.atomic():
            claimed = (
                Invitation.objects.usable()
                .filter(pk=self.pk)
                .update(accepted_at=timezone.now(), accepted_by=user)
            )
            if not claimed:
                return None
            membership, created = Membership.objects.get_or_create(
                team=self.team, user=user, defaults={"role": self.role}
            )
        return membership

    def revoke(self) -> bool:
        return bool(Invitation.objects.usable().filter(pk=self.pk).update(revoked_at=timezone.now()))


API_TOKEN_PREFIX_LENGTH = 8
# Access-key ids look like the hosted services' ("LTAI…"): a fixed prefix and 16 base32 characters.
ACCESS_KEY_ID_PREFIX = "VTAK"
_KEY_DERIVATION_SALT = "vitrine.api.access-key-secret"


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_access_key_id() -> str:
    return ACCESS_KEY_ID_PREFIX + base64.b32encode(secrets.token_bytes(10)).decode()


def derive_access_key_secret(access_key_id: str, server_key: str) -> str:
    """The secret of an access key, computed from the server's key and the id, so it is never stored.

    The signing schemes of the hosted services' client libraries (ACS3-HMAC-SHA256, RPC HMAC-SHA1, the
    open platform's HMAC-SHA256) need the secret itself on the server, so it cannot be kept as a hash
    like the bearer tokens; deriving it keeps the database free of it: a stolen database alone signs
    nothing.
    """
    digest = salted_hmac(_KEY_DERIVATION_SALT, access_key_id, secret=server_key, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)

    def create_token(
        self, team: Team, name: str, created_by: AbstractBaseUser | None
    ) -> tuple[ApiToken, str]:
        """Returns the token row and the raw secret, which is shown once and never stored.

        Every new token also gets an access-key id for the signing client libraries; its secret is
        `token.access_key_secret()`, shown once beside the raw token.
        """
        raw = "vt_" + secrets.token_urlsafe(32)
        token = self.create(
            team=team,
            name=name,
            prefix=raw[:API_TOKEN_PREFIX_LENGTH],
            hashed=_hash_token(raw),
            access_key_id=_new_access_key_id(),
            created_by=created_by,
        )
        return token, raw

    def authenticate(self, raw: str) -> ApiToken | None:
        if not raw:
            return None
        token = self.active().select_related("team").filter(hashed=_hash_token(raw.strip())).first()
        if token is not None:
            token.mark_used()
        return token

    def for_access_key(self, access_key_id: str) -> ApiToken | None:
        """The token of an access-key id, revoked or not: the caller tells the client which it is."""
        if not access_key_id:
            return None
        return self.select_related("team").filter(access_key_id=access_key_id).first()


class ApiToken(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=API_TOKEN_PREFIX_LENGTH, db_index=True)
    hashed = models.CharField(max_length=64, unique=True, editable=False)
    # Tokens made before access keys existed have none; they keep working as bearer tokens.
    access_key_id = models.CharField(max_length=32, unique=True, null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def revoke(self) -> bool:
        return bool(ApiToken.objects.active().filter(pk=self.pk).update(revoked_at=timezone.now()))

    def mark_used(self) -> None:
        ApiToken.objects.filter(pk=self.pk).update(last_used_at=timezone.now())

    def access_key_secret(self) -> str:
        """The access key's secret under the current SECRET_KEY (see `derive_access_key_secret`)."""
        if not self.access_key_id:
            raise ValueError("This token was made before access keys existed; create a new token.")
        return derive_access_key_secret(self.access_key_id, settings.SECRET_KEY)

    def access_key_secrets(self) -> list[str]:
        """The secrets a signature may use: the current one, then those of SECRET_KEY_FALLBACKS, so a
        key rotation done the Django way keeps clients signing until the fallbacks are dropped."""
        if not self.access_key_id:
            return []
        keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
        return [derive_access_key_secret(self.access_key_id, key) for key in keys]


# The image-search API's free attributes under the names merchants see (the product form, the product page,
# the search filters); the API keeps Aliyun's names. Labels and help live here, not on the model fields, so
# renaming one needs no migration.
ATTRIBUTE_LABELS: dict[str, str] = {
    "int_attr": "Price band",
    "int_attr2": "Size",
    "str_attr": "Colour",
    "str_attr2": "Brand",
    "custom_content": "Note for search results",
}
ATTRIBUTE_HELP: dict[str, str] = {
    "int_attr": "A whole number, e.g. 1 (budget) to 5 (premium); search can keep a range. The API's int_attr.",
    "int_attr2": "A whole number, e.g. a shoe or pack size. The API's int_attr2.",
    "str_attr": "One word, e.g. red; search can keep one colour. The API's str_attr.",
    "str_attr2": "Your brand or the maker's; search can keep one brand. The API's str_attr2.",
    "custom_content": "Free text returned with every search match (the API's CustomContent).",
}


class ProductQuerySet(models.QuerySet):
    def for_team(self, team: Team) -> ProductQuerySet:
        return self.filter(team=team)

    def search(self, text: str) -> ProductQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(title__icontains=text) | Q(sku__icontains=text))

    def sorted_by(self, key: str) -> ProductQuerySet:
        """One of PRODUCT_SORTS; anything else keeps the default (newest first)."""
        return self.order_by(*PRODUCT_SORTS.get(key, PRODUCT_SORTS["newest"])[1])

    def attribute_values(self, field: str, limit: int = 50) -> list[str]:
        """The distinct non-empty values of a text attribute (str_attr, str_attr2), for suggestions."""
        if field not in ("str_attr", "str_attr2"):
            raise ValueError(f"not a text attribute: {field}")
        values = self.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct()
        return list(values[:limit])


# The catalog's sort choices: key -> (label, ordering); pk last so pages never shuffle.
PRODUCT_SORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "newest": ("Newest first", ("-created_at", "-pk")),
    "oldest": ("Oldest first", ("created_at", "pk")),
    "title": ("Title A–Z", ("title", "pk")),
    "title_desc": ("Title Z–A", ("-title", "-pk")),
    "sku": ("SKU", ("sku", "pk")),
    "updated": ("Recently edited", ("-updated_at", "-pk")),
}


class Product(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="products")
    title = models.CharField(max_length=300, help_text="Chinese or English, as listed on the marketplace.")
    category = models.PositiveSmallIntegerField(choices=Category.choices, default=Category.GENERAL)
    sku = models.CharField("SKU", max_length=64, blank=True)
    # The four filterable attributes and the free text of the image-search API (ProductId's extras).
    int_attr = models.IntegerField(null=True, blank=True)
    int_attr2 = models.IntegerField(null=True, blank=True)
    str_attr = models.CharField(max_length=128, blank=True)
    str_attr2 = models.CharField(max_length=128, blank=True)
    custom_content = models.CharField(max_length=4096, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["team", "category"]), models.Index(fields=["team", "-created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["team", "sku"], condition=~Q(sku=""), name="unique_sku_per_team")
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("catalog:product_detail", args=[self.pk])

    @property
    def cover_image(self) -> ProductImage | None:
        images = getattr(self, "prefetched_images", None)
        if images is not None:
            return images[0] if images else None
        return self.images.order_by("position", "pk").first()

    # --- the product's photos: the first one is the cover ---------------------------------------------
    def ordered_images(self) -> ProductImageQuerySet:
        return self.images.order_by("position", "pk")

    def next_position(self) -> int:
        last = self.images.aggregate(last=models.Max("position"))["last"]
        return 0 if last is None else last + 1

    def add_images(self, images: list[ProductImage]) -> int:
        """Put photos of the team into this product, after its own, in the order given; a photo of another
        product moves here (a photo belongs to one product). Returns how many came in."""
        with transaction.atomic():
            # Locking the product row makes concurrent additions queue for their positions.
            Product.objects.select_for_update().filter(pk=self.pk).first()
            position = self.next_position()
            added = 0
            for image in images:
                if image.team_id != self.team_id or image.product_id == self.pk:
                    continue
                added += ProductImage.objects.filter(pk=image.pk, team_id=self.team_id).update(
                    product=self, position=position
                )
                image.product, image.position = self, position
                position += 1
        return added

    def set_image_order(self, image_ids: list[int]) -> None:
        """Number the photos in the order given; photos left out keep their order after those named, ids
        of other products' photos are ignored."""
        with transaction.atomic():
            Product.objects.select_for_update().filter(pk=self.pk).first()
            current = list(self.ordered_images().values_list("pk", flat=True))
            known = set(current)
            named = list(dict.fromkeys(pk for pk in image_ids if pk in known))
            named_set = set(named)
            order = named + [pk for pk in current if pk not in named_set]
            for position, pk in enumerate(order):
                ProductImage.objects.filter(pk=pk, product=self).exclude(position=position).update(
                    position=position
                )

    def move_image(self, image_id: int, offset: int) -> bool:
        """Move a photo `offset` places (negative: towards the cover); False when it is not this product's
        or cannot move further."""
        order = list(self.ordered_images().values_list("pk", flat=True))
        if image_id not in order:
            return False
        index = order.index(image_id)
        target = min(max(index + offset, 0), len(order) - 1)
        if target == index:
            return False
        order.insert(target, order.pop(index))
        self.set_image_order(order)
        return True

    def make_cover(self, image_id: int) -> bool:
        order = list(self.ordered_images().values_list("pk", flat=True))
        if image_id not in order:
            return False
        self.set_image_order([image_id, *order])
        return True


def _image_upload_to(instance: ProductImage, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1]
    return f"teams/{instance.team_id}/images/{instance.sha256[:2]}/{instance.sha256}.{extension}"


def _thumbnail_upload_to(instance: ProductImage, filename: str) -> str:
    return f"teams/{instance.team_id}/thumbnails/{instance.sha256[:2]}/{filename}"


class ProductImageQuerySet(models.QuerySet):
    def for_team(self, team: Team) -> ProductImageQuerySet:
        return self.filter(team=team)

    def from_ids(self, raw_ids: list[str]) -> list[ProductImage]:
        """The images named by form values, silently skipping anything that is not an id here."""
        ids = [int(value) for value in raw_ids if str(value).isdigit()]
        return list(self.filter(pk__in=ids).order_by("pk"))

    def sorted_by(self, key: str) -> ProductImageQuerySet:
        """One of PHOTO_SORTS; anything else keeps the default (newest first)."""
        return self.order_by(*PHOTO_SORTS.get(key, PHOTO_SORTS["newest"])[1])

    def ingest(
        self,
        *,
        team: Team,
        data: bytes,
        original_filename: str,
        uploaded_by: AbstractBaseUser | None,
        product: Product | None = None,
    ) -> tuple[ProductImage, bool]:
        """Validate and store an upload. Returns (image, created); the same bytes are never stored twice.

        Raises ImageDecodeError before anything is written, so a bad file leaves nothing behind.
        """
        decoded = decode_image(
            data,
            min_side=settings.MIN_IMAGE_SIDE,
            max_side=settings.MAX_IMAGE_SIDE,
            max_pixels=settings.MAX_IMAGE_PIXELS,
        )
        digest = hashlib.sha256(data).hexdigest()
        existing = self.filter(team=team, sha256=digest).first()
        if existing is not None:
            return existing, False
        image = self.model(
            team=team,
            product=product,
            # Into a product, a new photo goes after the ones it has.
            position=product.next_position() if product is not None else 0,
            sha256=digest,
            original_filename=original_filename[:255],
            uploaded_by=uploaded_by,
        )
        image.set_decoded_facts(decoded, byte_count=len(data))
        image.file.save(f"upload.{decoded.extension}", ContentFile(data), save=False)
        try:
            with transaction.atomic():
                image.save()
        except IntegrityError:
            # A concurrent upload of the same bytes won the race: keep theirs, drop our file.
            image.file.delete(save=False)
            return self.get(team=team, sha256=digest), False
        except BaseException:
            image.file.delete(save=False)
            raise
        return image, True


# The photo list's sort choices: key -> (label, ordering).
PHOTO_SORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "newest": ("Newest first", ("-created_at", "-pk")),
    "oldest": ("Oldest first", ("created_at", "pk")),
    "name": ("File name A–Z", ("original_filename", "pk")),
    "largest": ("Largest file first", ("-bytes", "-pk")),
    "smallest": ("Smallest file first", ("bytes", "pk")),
}


class ProductImage(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="images")
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="images"
    )
    position = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=_image_upload_to, max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)
    content_type = models.CharField(max_length=40)
    bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    original_filename = models.CharField(max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    thumbnail = models.FileField(upload_to=_thumbnail_upload_to, blank=True, max_length=255)
    facts = models.JSONField(default=dict, blank=True)
    facts_at = models.DateTimeField(null=True, blank=True)

    objects = ProductImageQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["team", "sha256"], name="unique_image_bytes_per_team")]
        indexes = [models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        return self.original_filename or f"image {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:image_detail", args=[self.pk])

    def set_decoded_facts(self, decoded: DecodedImage, *, byte_count: int) -> None:
        self.width = decoded.width
        self.height = decoded.height
        self.format = decoded.format
        self.content_type = decoded.content_type
        self.bytes = byte_count

    def read_bytes(self) -> bytes:
        with self.file.storage.open(self.file.name, "rb") as handle:
            return handle.read()

    def store_thumbnail(self, thumbnail: bytes, facts: dict) -> None:
        old_name = self.thumbnail.name
        self.thumbnail.save(f"{self.sha256}-{secrets.token_hex(4)}.webp", ContentFile(thumbnail), save=False)
        self.facts = facts
        self.facts_at = timezone.now()
        try:
            updated = ProductImage.objects.filter(pk=self.pk).update(
                thumbnail=self.thumbnail.name, facts=facts, facts_at=self.facts_at
            )
        except BaseException:
            self.thumbnail.storage.delete(self.thumbnail.name)
            raise
        if not updated:
            # The image was deleted while we worked on it.
            self.thumbnail.storage.delete(self.thumbnail.name)
            return
        if old_name and old_name != self.thumbnail.name:
            self.thumbnail.storage.delete(old_name)

    def get_file_url(self) -> str:
        return reverse("catalog:image_file", args=[self.pk])

    def get_thumbnail_url(self) -> str:
        return reverse("catalog:image_thumbnail", args=[self.pk])

    @property
    def dominant_colours(self) -> list[dict]:
        return self.facts.get("dominant_colours", [])


# =========================================================================================================
# Search by picture (issue 6). The database is the source of truth for every team's search index: each
# image's vectors and local features live in `ImageSearchEntry`; in-memory indexes (catalog/search_index.py)
# are caches that follow a per-team version counter. Appended here so other sections stay untouched.
# =========================================================================================================

SEARCH_INSTANCE_NAME_MAX = 20  # the seed: InstanceName has at most 20 characters


class SearchInstanceQuerySet(models.QuerySet):
    def for_team(self, team: Team) -> SearchInstanceQuerySet:
        return self.filter(team=team)


class SearchInstance(models.Model):
    """A name API clients pass as `InstanceName`; it only ever resolves within the token's own team."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="search_instances")
    name = models.CharField(max_length=SEARCH_INSTANCE_NAME_MAX, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SearchInstanceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SearchIndexState(models.Model):
    """A team's index version. Every change to its entries bumps it inside the same transaction, so a
    committed version v guarantees every change numbered <= v is committed too (writers queue on this
    row), and a process that has applied changes up to v only needs the ones numbered above it.

    Keyed by a plain team id, not a foreign key: deleting a team cascades through its entries, whose
    deletion handler writes here while the team row is on its way out."""

    team_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField(default=0)
    # The highest deletion version whose `SearchDeletion` row was pruned: an engine (or a saved index file)
    # at a lower version can no longer replay the deletions it misses and must be rebuilt from the entries.
    deletions_pruned_through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"search index of team {self.team_id} at version {self.version}"

    @classmethod
    def current(cls, team_id: int) -> int:
        return cls.objects.filter(team_id=team_id).values_list("version", flat=True).first() or 0

    @classmethod
    def current_and_pruned(cls, team_id: int) -> tuple[int, int]:
        """The team's version and its `deletions_pruned_through`, read together in one query."""
        row = cls.objects.filter(team_id=team_id).values_list("version", "deletions_pruned_through").first()
        return (row[0], row[1]) if row is not None else (0, 0)

    @classmethod
    def pruned_through(cls, team_id: int) -> int:
        return (
            cls.objects.filter(team_id=team_id).values_list("deletions_pruned_through", flat=True).first()
            or 0
        )

    @classmethod
    def prune_deletions(cls, team_id: int, cutoff: datetime) -> int:
        """Delete the team's deletion rows written before `cutoff` and raise its mark; returns rows deleted.

        One transaction with the version row locked: writers (`bump`) queue behind it, every deletion
        numbered up to the locked version is committed, and readers see the rows gone and the mark raised
        together. Every row at or below the new mark goes, so "version <= mark" is exactly what is missing."""
        with transaction.atomic():
            cls.objects.get_or_create(team_id=team_id)
            state = cls.objects.select_for_update().get(team_id=team_id)
            through = SearchDeletion.objects.filter(team_id=team_id, created_at__lt=cutoff).aggregate(
                through=models.Max("version")
            )["through"]
            if through is None:
                return 0
            deleted, _by_model = SearchDeletion.objects.filter(team_id=team_id, version__lte=through).delete()
            if through > state.deletions_pruned_through:
                state.deletions_pruned_through = through
                state.save(update_fields=["deletions_pruned_through"])
            return deleted

    @classmethod
    def bump(cls, team_id: int) -> int:
        """Next version for the team; call inside the transaction that writes the change."""
        cls.objects.get_or_create(team_id=team_id)
        cls.objects.filter(team_id=team_id).update(version=models.F("version") + 1)
        return cls.objects.filter(team_id=team_id).values_list("version", flat=True).get()


# How long a `SearchDeletion` row is kept. A process whose cached engine (or saved index file) is older than
# the oldest kept row rebuilds it from the entries instead of replaying the deletions.
SEARCH_DELETION_RETENTION = timedelta(days=7)


class SearchDeletionQuerySet(models.QuerySet):
    def prune(self, now: datetime | None = None, retention: timedelta = SEARCH_DELETION_RETENTION) -> int:
        """For every team, delete the rows older than `retention` and raise its `deletions_pruned_through`
        (one transaction per team, see `SearchIndexState.prune_deletions`); returns the rows deleted."""
        cutoff = (now or timezone.now()) - retention
        team_ids = self.filter(created_at__lt=cutoff).values_list("team_id", flat=True).distinct()
        deleted = sum(SearchIndexState.prune_deletions(team_id, cutoff) for team_id in sorted(team_ids))
        # A deleted team's version row outlives it (it is keyed by a plain id); once its last deletion
        # row is pruned nothing can need it: team ids are never reused.
        SearchIndexState.objects.exclude(team_id__in=Team.objects.values("pk")).exclude(
            team_id__in=self.values("team_id")
        ).delete()
        return deleted


class SearchDeletion(models.Model):
    """Log of images that left a team's index, so other processes can drop them from their caches.

    Pruned after `SEARCH_DELETION_RETENTION` by the maintenance loop (`SearchDeletion.objects.prune()`)."""

    team_id = models.BigIntegerField()
    image_id = models.BigIntegerField()
    version = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SearchDeletionQuerySet.as_manager()

    class Meta:
        # created_at: the maintenance sweep looks for rows past their retention every 30 s.
        indexes = [models.Index(fields=["team_id", "version"]), models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"image {self.image_id} left team {self.team_id}'s index at version {self.version}"


class ImageSearchEntryQuerySet(models.QuerySet):
    def for_team(self, team: Team) -> ImageSearchEntryQuerySet:
        return self.filter(team=team)

    def changed_since(self, team_id: int, version: int) -> ImageSearchEntryQuerySet:
        return self.filter(team_id=team_id, version__gt=version)


class ImageSearchEntry(models.Model):
    """What search needs about one catalog image (see processing/engines/search/engine.py, storage contract)."""

    image = models.OneToOneField(ProductImage, on_delete=models.CASCADE, related_name="search_entry")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    # Whole picture then subject crop, float32, EMBEDDING_DIM each.
    vectors = models.BinaryField()
    # ORB keypoints and descriptors of the subject crop, re-ranking's input (10-20 KB).
    local_features = models.BinaryField()
    # Seed (Aliyun) CategoryId: predicted, or the one AddImage was given.
    aliyun_category = models.IntegerField()
    # Our catalog category as the model sees the picture (the product's own category may differ).
    predicted_category = models.PositiveSmallIntegerField(choices=Category.choices)
    region = models.CharField(max_length=40, help_text="Detected subject, Aliyun 'x1,x2,y1,y2'.")
    model_version = models.CharField(max_length=60)
    version = models.BigIntegerField(default=0, help_text="SearchIndexState version of the last write.")
    indexed_at = models.DateTimeField(auto_now=True)

    objects = ImageSearchEntryQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["team", "version"])]
        verbose_name_plural = "image search entries"

    def __str__(self) -> str:
        return f"search entry of image {self.image_id}"


def _record_search_deletion(sender, instance: ImageSearchEntry, **kwargs) -> None:
    # Runs for cascades too (deleting an image, a product or a team), inside the deleting transaction.
    # pre_delete fires before any row is deleted, so a deletion takes the team's version row first, in
    # the same order as indexing (catalog/search_index.py): the two cannot deadlock.
    SearchDeletion.objects.create(
        team_id=instance.team_id, image_id=instance.image_id, version=SearchIndexState.bump(instance.team_id)
    )


models.signals.pre_delete.connect(
    _record_search_deletion, sender=ImageSearchEntry, dispatch_uid="catalog.search_deletion"
)
