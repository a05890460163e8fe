from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from catalog import views as catalog_views
from catalog.forms import ThrottledAuthenticationForm
from processing.openapi import openapi_document
from processing.views import api_cutout, api_erase, api_iop, api_scenes, api_search
from project.health import healthz

# Error pages in the site's layout (templates/403.html, 404.html, 500.html); 404 is Django's own view.
handler403 = "catalog.views.permission_denied"
handler500 = "catalog.views.server_error"

urlpatterns = [
    # A browser is sent on to the catalog; a POST (or ?Action=) is the Alibaba Cloud image-search SDK,
    # whose path is fixed at `/`.
    path("", api_search.root),
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
    # The same Aidge APIs behind the open platform's gateway path and signature (IopClient, lazop-sdk).
    path("rest/ai/image/cut/out", api_iop.cut_out, name="api_iop_cut_out"),
    path("rest/ai/image/removal", api_iop.removal, name="api_iop_removal"),
    path("rest/ai/image/background/generation/scene/query", api_iop.scene_query, name="api_iop_scene_query"),
    path("rest/ai/image/background/generation", api_iop.scene_generate, name="api_iop_scene_generate"),
    path("rest/<path:api_name>", api_iop.unknown_api, name="api_iop_unknown"),
    path("api/openapi.json", openapi_document, name="api_openapi"),
]
