from django.contrib import admin

from .models import ApiNonce, Job, JobItem, Result, Scene


class JobItemInline(admin.TabularInline):
    model = JobItem
    extra = 0
    fields = ["position", "source_name", "status", "error_code", "error_message", "duration_ms", "attempts"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "status", "team", "created_by", "created_at", "finished_at", "attempts"]
    list_filter = ["status", "kind", "team"]
    search_fields = ["result_key", "error_message", "team__name"]
    readonly_fields = ["result_key", "started_at", "finished_at", "lease_expires_at", "attempts", "version"]
    inlines = [JobItemInline]


@admin.register(JobItem)
class JobItemAdmin(admin.ModelAdmin):
    list_display = ["pk", "job", "position", "source_name", "status", "error_code", "duration_ms"]
    list_filter = ["status", "job__kind"]
    search_fields = ["source_name", "error_message"]
    raw_id_fields = ["job", "image"]


@admin.register(Result)
class ResultAdmin(admin.ModelAdmin):
    list_display = ["pk", "job", "team", "width", "height", "score", "created_at"]
    list_filter = ["team", "job__kind"]
    search_fields = ["file", "job__result_key"]
    raw_id_fields = ["job", "item"]


@admin.register(ApiNonce)
class ApiNonceAdmin(admin.ModelAdmin):
    list_display = ["nonce", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["nonce"]


@admin.register(Scene)
class SceneAdmin(admin.ModelAdmin):
    list_display = ["model_num", "name_en", "name_zh", "team", "scene_types", "categories", "position"]
    list_filter = ["team"]
    search_fields = ["model_num", "name_en", "name_zh"]
    readonly_fields = ["text_vector_key", "created_at", "updated_at"]
