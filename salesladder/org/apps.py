from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "salesladder.org"
    label = "org"
    verbose_name = "Organisation"
