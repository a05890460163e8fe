from django.urls import path

from .views import api_cutout, cutout, erase, jobs, refine, scenes, search

app_name = "processing"

urlpatterns = [
    path("", jobs.job_list, name="job_list"),
    path("<int:pk>/", jobs.job_detail, name="job_detail"),
    path("<int:pk>/cancel/", jobs.job_cancel, name="job_cancel"),
    path("<int:pk>/retry/", jobs.job_retry, name="job_retry"),
    path("<int:pk>/items/<int:item_pk>/retry/", jobs.item_retry, name="item_retry"),
    path("results/<int:pk>/file/", jobs.result_file, name="result_file"),
    path("<int:pk>/download.zip", cutout.job_zip, name="job_zip"),
    path("cutout/new/", cutout.cutout_new, name="cutout_new"),
    path("results/<int:pk>/download.<str:extension>", cutout.result_download, name="result_download"),
    path("results/<int:pk>/save/", cutout.result_save_to_product, name="result_save"),
    path("results/<int:pk>/rerun/", cutout.result_rerun, name="result_rerun"),
    path("results/signed/<str:token>/", api_cutout.signed_result, name="signed_result"),
    # The cut-out refine editor: keep/remove strokes and a box over the photo, each step a one-item job.
    path("cutout/refine/<int:pk>/", refine.refine_editor, name="refine_editor"),
    path("cutout/refine/<int:pk>/matte/", refine.refine_base, name="refine_base"),
    path("cutout/refine/<int:pk>/matte/<int:job_pk>/", refine.refine_base_status, name="refine_base_status"),
    path("cutout/refine/<int:pk>/apply/", refine.refine_apply, name="refine_apply"),
    path("cutout/refine/<int:pk>/apply/<int:job_pk>/", refine.refine_run_status, name="refine_run_status"),
    path("cutout/refine/<int:pk>/save/", refine.refine_save, name="refine_save"),
    path("cutout/refine/<int:pk>/save/<int:job_pk>/", refine.refine_saved_status, name="refine_saved_status"),
    # Scenes: the library, team scenes, and a product's Scenes tab.
    path("scenes/", scenes.scene_list, name="scene_list"),
    path("scenes/new/", scenes.scene_new, name="scene_new"),
    path("scenes/product/<int:pk>/", scenes.product_scenes, name="product_scenes"),
    path("scenes/product/<int:pk>/preview.png", scenes.scene_preview, name="scene_preview"),
    path("scenes/product/<int:pk>/render/", scenes.scene_render, name="scene_render"),
    path("scenes/<str:model_num>/", scenes.scene_detail, name="scene_detail"),
    path("scenes/<str:model_num>/delete/", scenes.scene_delete, name="scene_delete"),
    path("scenes/<str:model_num>/cover.jpg", scenes.scene_cover, name="scene_cover"),
    path("scenes/<str:model_num>/photo.jpg", scenes.scene_background_file, name="scene_photo"),
    # Erase elements: the batch form and the one-photo editor.
    path("erase/new/", erase.erase_new, name="erase_new"),
    path("erase/image/<int:pk>/", erase.erase_editor, name="erase_editor"),
    path("erase/image/<int:pk>/detect/", erase.erase_detect, name="erase_detect"),
    path("erase/image/<int:pk>/apply/", erase.erase_apply, name="erase_apply"),
    path("erase/detect/<int:pk>/", erase.erase_detect_status, name="erase_detect_status"),
    path("erase/detect/<int:pk>/elements.json", erase.erase_elements, name="erase_elements"),
    path("erase/result/<int:pk>/", erase.erase_result_status, name="erase_result_status"),
    # Search by picture: the page, its synchronous query, duplicates, and the team's API instances.
    path("search/", search.search_page, name="search"),
    path("search/query/", search.search_query, name="search_query"),
    path("search/duplicates/", search.search_duplicates, name="search_duplicates"),
    path("search/instances/", search.instance_create, name="search_instance_create"),
    path("search/instances/<int:pk>/delete/", search.instance_delete, name="search_instance_delete"),
]
