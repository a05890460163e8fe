"""Who may see and change what: every view starts from the current membership.

A user may belong to several teams; the team switcher stores the chosen one in the session.
Objects of any other team answer 404, never 403, so ids of other teams' objects reveal nothing.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .models import Membership, Role

SESSION_TEAM_KEY = "current_team_id"
_CACHE_ATTRIBUTE = "_vitrine_membership"


def current_membership(request: HttpRequest) -> Membership | None:
    if hasattr(request, _CACHE_ATTRIBUTE):
        return getattr(request, _CACHE_ATTRIBUTE)
    membership = None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        memberships = Membership.objects.for_user(user)
        chosen_team_id = request.session.get(SESSION_TEAM_KEY)
        if chosen_team_id is not None:
            membership = memberships.filter(team_id=chosen_team_id).first()
        if membership is None:
            membership = memberships.order_by("created_at", "pk").first()
    setattr(request, _CACHE_ATTRIBUTE, membership)
    return membership


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in and in a team; `request.membership` is set for the view."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        membership = current_membership(request)
        if membership is None:
            return redirect("catalog:team_create")
        request.membership = membership
        return view(request, *args, **kwargs)

    return wrapper


class RoleRequired(PermissionDenied):
    """Refused for the member's role; the 403 page names the teammates whose role may do it."""

    def __init__(self, message: str, roles: tuple[str, ...]) -> None:
        super().__init__(message)
        self.roles = roles


def require_editor(request: HttpRequest) -> None:
    if not request.membership.can_edit:
        raise RoleRequired("Viewers cannot upload, edit or start jobs.", (Role.OWNER, Role.EDITOR))


def require_owner(request: HttpRequest) -> None:
    if not request.membership.can_manage:
        raise RoleRequired("Only the team's owners can manage members and API tokens.", (Role.OWNER,))
