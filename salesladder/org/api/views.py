"""Organisation endpoints: ``me/``, ``teams/`` and ``users/`` (admins provision, everyone reads their scope)."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from salesladder.org.api.serializers import (
    MeSerializer,
    TeamSerializer,
    TeamWriteSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from salesladder.org.models import Membership, Team, User
from salesladder.org.permissions import ANY_TOKEN, READ_SCOPES, HasTokenScope, IsAdmin
from salesladder.org.selectors import teams_visible_to, users_visible_to
from salesladder.org.services import team_create, team_update, user_create, user_update

# Organisation data is readable with deals:read; provisioning needs an admin's full-access key.
ORG_SCOPES: dict[str, list[str]] = {"read": READ_SCOPES, "write": []}


class MeView(APIView):
    """The caller: their teams and roles, the teams they manage, and the API key in use."""

    required_scopes = [ANY_TOKEN]

    @extend_schema(responses=MeSerializer, operation_id="me_retrieve")
    def get(self, request: Request) -> Response:
        user = User.objects.prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("team"))
        ).get(pk=cast(User, request.user).pk)
        return Response(MeSerializer(user, context={"request": request, "token": request.auth}).data)


class _AdminWritesMixin:
    required_scopes = ORG_SCOPES

    def get_permissions(self) -> list[Any]:
        permissions = [IsAuthenticated(), HasTokenScope()]
        if self.action not in ("list", "retrieve"):  # type: ignore[attr-defined]
            permissions.append(IsAdmin())
        return permissions


@extend_schema(tags=["teams"])
class TeamViewSet(
    _AdminWritesMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Teams the caller belongs to or manages (admins: all). Admins create and rename or re-parent them."""

    queryset = Team.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = TeamSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ["name", "created_at", "id"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Team]:
        return teams_visible_to(user=self.request.user).order_by("name")  # type: ignore[arg-type]

    @extend_schema(request=TeamWriteSerializer, responses={201: TeamSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = TeamWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = team_create(name=data.validated_data["name"], parent=data.validated_data.get("parent"))
        return Response(TeamSerializer(team).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TeamWriteSerializer, responses=TeamSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        team = self.get_object()
        data = TeamWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        team = team_update(
            team=team, name=data.validated_data.get("name"), parent=data.validated_data.get("parent", False)
        )
        return Response(TeamSerializer(team).data)


@extend_schema(tags=["users"])
class UserViewSet(
    _AdminWritesMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """People the caller may see: themselves, and for managers everyone in their teams (admins: all).
    Admins create users (an HR system syncing) with a team and a role, and update them (names, e-mail,
    password, leaving with ``is_active: false``, another team or role)."""

    queryset = User.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = UserSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ["username", "id", "date_joined"]
    ordering = ["username"]

    def get_queryset(self) -> QuerySet[User]:
        return (
            users_visible_to(user=self.request.user)  # type: ignore[arg-type]
            .prefetch_related(Prefetch("memberships", queryset=Membership.objects.select_related("team")))
            .order_by("username")
        )

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(**data.validated_data)
        return Response(UserSerializer(self.get_queryset().get(pk=user.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserUpdateSerializer, responses=UserSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.get_object()
        data = UserUpdateSerializer(data=request.data, context={"user": user})
        data.is_valid(raise_exception=True)
        user_update(user=user, **data.validated_data)
        return Response(UserSerializer(self.get_queryset().get(pk=user.pk)).data)
