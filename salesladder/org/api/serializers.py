"""Organisation API shapes. Input serializers validate and hand over to services; they never save models."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from salesladder.api.fields import refuse_unknown_fields
from salesladder.org.models import ApiToken, Membership, Role, Team, User
from salesladder.org.selectors import managed_team_ids


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "parent", "created_at"]
        read_only_fields = fields


class TeamWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]  # a field, not Field.parent
        queryset=Team.objects.all(), allow_null=True, required=False
    )


class MembershipSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["team", "team_name", "role"]
        read_only_fields = fields


class UserSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True, help_text="May be empty.")
    is_admin = serializers.BooleanField(source="is_superuser", read_only=True)
    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "is_admin", "is_active", "memberships"]
        read_only_fields = fields


def _checked_person(attrs: dict, user: User) -> dict:
    """The checks of a user write: a password the validators accept for ``user``, a role only with a team."""
    password = attrs.get("password")
    if password:
        try:
            validate_password(password, user=user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
    if attrs.get("role") and not attrs.get("team"):
        raise serializers.ValidationError({"team": [_("A role needs a team.")]})
    return attrs


class UserCreateSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    password = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=128)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)
    role = serializers.ChoiceField(choices=Role.choices, required=False, allow_null=True)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        return _checked_person(attrs, User(username=attrs["username"], email=attrs.get("email", "")))


class UserUpdateSerializer(serializers.Serializer):
    """``PATCH users/{id}/``: every field optional; ``team`` (with ``role``, default rep) moves the person."""

    email = serializers.EmailField(required=False, allow_blank=True)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    password = serializers.CharField(write_only=True, required=False, max_length=128)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)
    role = serializers.ChoiceField(choices=Role.choices, required=False)

    def validate(self, attrs: dict) -> dict:
        refuse_unknown_fields(self, _("This field cannot be changed."))
        return _checked_person(attrs, self.context["user"])


class TokenInfoSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "scopes", "team", "created_at", "expires_at"]
        read_only_fields = fields


class MeSerializer(UserSerializer):
    managed_teams = serializers.SerializerMethodField()
    token = serializers.SerializerMethodField(help_text="The API key used for this request, if any.")

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "language", "managed_teams", "token"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_managed_teams(self, user: User) -> list[int]:
        """Ids of the teams the user manages, sub-teams included."""
        return sorted(managed_team_ids(user=user))

    @extend_schema_field(TokenInfoSerializer(allow_null=True))
    def get_token(self, user: User) -> dict | None:
        token = self.context.get("token")
        return TokenInfoSerializer(token).data if isinstance(token, ApiToken) else None
