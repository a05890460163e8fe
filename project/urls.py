from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from catalog import views as catalog_views
from catalog.forms import ThrottledAuthenticationForm
from processing.openapi import openapi_document
from processing.views import api_cutout, api_erase, api_scenes, api_search
from project.health import healthz

# Error pages in the site's layout (templates/403.html, 404.html, 500.html); 404 is Django's own view.
handler403 = "catalog.views.permission_denied"
handler500 = "catalog.views.server_error"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="catalog:product_list", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", catalog_views.signup, name="signup"),
    path("catalog/", include("catalog.urls")),
    path("jobs/", include("processing.urls")),
    # HTTP API in the dialects of the hosted services it replaces (see the seeds).
    path("ai/image/cut/out", api_cutout.cut_out, name="api_cut_out"),
    path("api/v1/bg-remove/submit", api_cutout.bg_remove_submit, name="api_bg_remove_submit"),
    path("api/v1/bg-remove/query", api_cutout.bg_remove_query, name="api_bg_remove_query"),
    path("ai/image/background/generation/scene/query", api_scenes.scene_query, name="api_scene_query"),
    path("ai/image/background/generation", api_scenes.scene_generate, name="api_scene_generate"),
    path("api/imagesearch", api_search.image_search, name="api_image_search"),
    path("ai/image/removal", api_erase.removal, name="api_removal"),
    path("api/openapi.json", openapi_document, name="api_openapi"),
]
