"""Serializer fields shared by the API apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.db.models import Model, QuerySet
from rest_framework import serializers

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # dev-only package: for the checker


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


def refuse_unknown_fields(serializer: serializers.Serializer, message: StrOrPromise) -> None:
    """A write serializer's check: keys it does not declare (``status``, ``username`` …) are refused with
    ``message`` each, instead of being silently ignored."""
    data = serializer.initial_data if isinstance(serializer.initial_data, dict) else {}
    unknown = sorted(set(data) - set(serializer.fields))
    if unknown:
        raise serializers.ValidationError({name: [message] for name in unknown})
