from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("photos/", views.photo_list, name="photo_list"),
    path("photos/delete/", views.photo_bulk_delete, name="photo_bulk_delete"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/delete/", views.product_delete, name="product_delete"),
    path("products/<int:pk>/photos/", views.product_photos, name="product_photos"),
    path("products/add-photos/", views.product_add_images, name="product_add_images"),
    path("images/<int:pk>/", views.image_detail, name="image_detail"),
    path("images/<int:pk>/file/", views.image_file, name="image_file"),
    path("images/<int:pk>/thumbnail/", views.image_thumbnail, name="image_thumbnail"),
    path("images/<int:pk>/tile/", views.image_tile, name="image_tile"),
    path("images/<int:pk>/delete/", views.image_delete, name="image_delete"),
    path("upload/", views.upload, name="upload"),
    path("upload/file/", views.upload_file, name="upload_file"),
    path("upload/finish/", views.upload_finish, name="upload_finish"),
    path("team/", views.team_settings, name="team_settings"),
    path("team/new/", views.team_create, name="team_create"),
    path("team/settings/", views.team_update, name="team_update"),
    path("team/switch/", views.team_switch, name="team_switch"),
    path("team/invitations/", views.invitation_create, name="invitation_create"),
    path("team/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("team/members/<int:pk>/", views.member_update, name="member_update"),
    path("team/tokens/", views.token_create, name="token_create"),
    path("team/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
