from django.http import HttpRequest

from .access import current_membership
from .models import ATTRIBUTE_LABELS, Membership


def current_team(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = current_membership(request)
    return {
        "current_membership": membership,
        "current_team": membership.team if membership else None,
        "all_memberships": Membership.objects.for_user(user),
        # What the API's int_attr, str_attr... are called on every page (see catalog.models).
        "attribute_labels": ATTRIBUTE_LABELS,
    }
