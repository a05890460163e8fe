from django.contrib import admin

from .models import (
    ApiToken,
    ImageSearchEntry,
    Invitation,
    Membership,
    Product,
    ProductImage,
    SearchInstance,
    Team,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at", "api_rate_limit", "result_retention_days"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    autocomplete_fields = ["user", "team"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["team", "role", "email", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role", "team"]
    search_fields = ["email", "team__name"]
    readonly_fields = ["token", "accepted_by", "accepted_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "access_key_id", "team", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["team"]
    search_fields = ["name", "prefix", "access_key_id", "team__name"]
    readonly_fields = ["prefix", "hashed", "access_key_id", "last_used_at"]


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["original_filename", "width", "height", "format", "bytes", "position"]
    readonly_fields = ["original_filename", "width", "height", "format", "bytes"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["title", "sku", "category", "team", "created_at"]
    list_filter = ["category", "team"]
    search_fields = ["title", "sku", "str_attr", "str_attr2"]
    inlines = [ProductImageInline]


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    list_display = [
        "original_filename",
        "team",
        "product",
        "width",
        "height",
        "format",
        "bytes",
        "created_at",
    ]
    list_filter = ["format", "team"]
    search_fields = ["original_filename", "sha256", "product__title"]
    readonly_fields = ["sha256", "facts", "facts_at"]
    raw_id_fields = ["product"]


@admin.register(SearchInstance)
class SearchInstanceAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_at"]
    search_fields = ["name", "team__name"]
    autocomplete_fields = ["team"]


@admin.register(ImageSearchEntry)
class ImageSearchEntryAdmin(admin.ModelAdmin):
    # Vectors and local features are binary and only written by indexing; show what they describe.
    list_display = [
        "image",
        "team",
        "aliyun_category",
        "predicted_category",
        "region",
        "model_version",
        "indexed_at",
    ]
    list_filter = ["model_version", "aliyun_category"]
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request) -> bool:
        return False
