from django.urls import path

from .views import api_cutout, cutout, jobs

app_name = "processing"

urlpatterns = [
    path("", jobs.job_list, name="job_list"),
    path("<int:pk>/", jobs.job_detail, name="job_detail"),
    path("<int:pk>/cancel/", jobs.job_cancel, name="job_cancel"),
    path("results/<int:pk>/file/", jobs.result_file, name="result_file"),
    path("<int:pk>/download.zip", cutout.job_zip, name="job_zip"),
    path("cutout/new/", cutout.cutout_new, name="cutout_new"),
    path("results/<int:pk>/download.<str:extension>", cutout.result_download, name="result_download"),
    path("results/<int:pk>/save/", cutout.result_save_to_product, name="result_save"),
    path("results/signed/<str:token>/", api_cutout.signed_result, name="signed_result"),
]
