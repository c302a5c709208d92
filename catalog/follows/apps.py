from django.apps import AppConfig


class FollowsConfig(AppConfig):
    name = "catalog.follows"
    label = "follows"
    verbose_name = "Followers"
    default_auto_field = "django.db.models.BigAutoField"
