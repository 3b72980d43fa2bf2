"""S3's console pages, at the S3 console's own paths: /s3/buckets, /s3/buckets/<name>?prefix=...,
/s3/object/<name>?prefix=<key> (a key is a query parameter: it may hold any character, "/" included)."""
from django.urls import path

from .views import buckets, objects, transfer

bucket = "s3/buckets/<str:name>"
obj = "s3/object/<str:name>"

urlpatterns = [
    path("s3/buckets", buckets.bucket_list, name="s3-buckets"),
    path("s3/bucket/create", buckets.bucket_create_view, name="s3-bucket-create"),
    path(bucket, objects.bucket_page, name="s3-bucket"),
    path(f"{bucket}/delete", buckets.bucket_delete_view, name="s3-bucket-delete"),
    path(f"{bucket}/create-folder", objects.folder_create, name="s3-folder-create"),
    path(f"{bucket}/upload", transfer.object_upload, name="s3-upload"),
    path(f"{bucket}/delete-objects", objects.objects_delete, name="s3-objects-delete"),
    path(obj, objects.object_page, name="s3-object"),
    path(f"{obj}/download", transfer.object_download, name="s3-object-download"),
    path(f"{obj}/preview", transfer.object_preview, name="s3-object-preview"),
]
