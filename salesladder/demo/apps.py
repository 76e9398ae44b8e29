from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo organisation (``manage.py seed_demo``). No models."""

    name = "salesladder.demo"
    label = "demo"
    verbose_name = _("Demo data")
