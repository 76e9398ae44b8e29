from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person. Admins are superusers; the rep/manager role lives on Membership."""

    language = models.CharField(_("language"), max_length=10, blank=True)

    class Meta(AbstractUser.Meta):
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.is_superuser


class Team(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent team"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [models.CheckConstraint(condition=~Q(parent=models.F("pk")), name="team_not_own_parent")]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    REP = "rep", _("Rep")
    MANAGER = "manager", _("Manager")


class Membership(models.Model):
    """A user's place in a team. A rep belongs to one team (deals are attributed to it); managers may run several."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team"),
            models.UniqueConstraint(fields=["user"], condition=Q(role="rep"), name="membership_one_rep_team"),
        ]
        indexes = [models.Index(fields=["team", "role"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.team} ({self.get_role_display()})"
