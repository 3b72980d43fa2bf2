from django.apps import AppConfig


class IamConfig(AppConfig):
    name = "console.iam"
    label = "iam"
    verbose_name = "IAM"
    default_auto_field = "django.db.models.BigAutoField"
