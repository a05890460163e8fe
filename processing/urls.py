from django.urls import path

from . import views

app_name = "processing"

urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("<int:pk>/", views.job_detail, name="job_detail"),
    path("<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("results/<int:pk>/file/", views.result_file, name="result_file"),
]
