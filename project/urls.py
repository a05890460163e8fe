from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from catalog import views as catalog_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="catalog:product_list", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", catalog_views.signup, name="signup"),
    path("catalog/", include("catalog.urls")),
    path("jobs/", include("processing.urls")),
]
