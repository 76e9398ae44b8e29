"""Serializer fields shared by the API apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.db.models import Model, QuerySet
from rest_framework import serializers


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id limited to what the requesting user may see.

    ``scope`` takes ``user=`` and returns a queryset (one of the scoping selectors). An id outside it
    gets the same "does not exist" error as an unknown id, so nothing leaks.
    """

    def __init__(self, *, scope: Callable[..., QuerySet], model: type[Model], **kwargs: Any) -> None:
        self.scope = scope
        kwargs["queryset"] = model._default_manager.none()  # for schema generation: the model
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        if request is None:
            return cast(QuerySet, super().get_queryset())
        return self.scope(user=request.user)
