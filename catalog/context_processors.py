from django.http import HttpRequest

from .access import current_membership
from .models import Membership


def current_team(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = current_membership(request)
    return {
        "current_membership": membership,
        "current_team": membership.team if membership else None,
        "all_memberships": Membership.objects.for_user(user),
    }
