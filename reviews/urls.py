"""HTML pages of the reviews app (the API lives in ``reviews/api/urls.py``)."""

from django.urls import path

from reviews import views

urlpatterns = [
    path("reviews/", views.review_list, name="reviews"),
    path("reviews/<int:pk>/", views.review_detail, name="review_detail"),
    path("reviews/<int:pk>/edit/", views.review_edit, name="review_edit"),
    path("reviews/<int:pk>/share/", views.review_share_view, name="review_share"),
    path("reviews/<int:pk>/comment/", views.review_comment, name="review_comment"),
    path("reviews/<int:pk>/close/", views.review_close_view, name="review_close"),
    path("reviews/<int:pk>/items/", views.action_item_create, name="review_item_add"),
    path("reviews/<int:pk>/items/<int:item_pk>/done/", views.action_item_toggle, name="review_item_done"),
    path("reviews/<int:pk>/items/<int:item_pk>/edit/", views.action_item_edit, name="review_item_edit"),
    path("reviews/<int:pk>/items/<int:item_pk>/delete/", views.action_item_delete_view, name="review_item_delete"),
]
