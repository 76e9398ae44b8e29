from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Reviews")

    def ready(self) -> None:
        # targets runs the nightly job but must not import reviews: reviews registers itself instead.
        from reviews.nightly import register_with_targets

        register_with_targets()
