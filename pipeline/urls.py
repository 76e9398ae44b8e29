"""HTML pages of the pipeline (the API lives in ``pipeline/api/urls.py``)."""

from django.urls import path

from pipeline.views import board, deals, directory

app_name = "pipeline"

urlpatterns = [
    path("pipeline/", board.board, name="board"),
    path("pipeline/quick-add/", board.quick_add, name="quick_add"),
    path("deals/", deals.deal_list, name="deal_list"),
    path("deals/<int:pk>/", deals.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/edit/", deals.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/move/", board.deal_move_view, name="deal_move"),
    path("deals/<int:pk>/lose/", deals.deal_lose_view, name="deal_lose"),
    path("deals/<int:pk>/reopen/", deals.deal_reopen_view, name="deal_reopen"),
    path("deals/<int:pk>/activities/", deals.activity_create, name="activity_create"),
    path("deals/<int:pk>/activities/<int:activity_pk>/done/", deals.activity_done, name="activity_done"),
    path("accounts/", directory.account_list, name="account_list"),
    path("accounts/new/", directory.account_form, name="account_new"),
    path("accounts/<int:pk>/", directory.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", directory.account_form, name="account_edit"),
    path("contacts/", directory.contact_list, name="contact_list"),
    path("contacts/new/", directory.contact_form, name="contact_new"),
    path("contacts/<int:pk>/", directory.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", directory.contact_form, name="contact_edit"),
]
