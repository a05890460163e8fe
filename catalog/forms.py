from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.cache import cache

from .models import (
    ATTRIBUTE_HELP,
    ATTRIBUTE_LABELS,
    PRODUCT_SORTS,
    ApiToken,
    Category,
    Invitation,
    Product,
    Role,
    Team,
)

LOGIN_FAILURES_PER_USERNAME = 5
LOGIN_FAILURES_PER_ADDRESS = 20
LOGIN_LOCKOUT_SECONDS = 15 * 60


def client_address(request) -> str:
    """The address of whoever sent the request, seen through `TRUSTED_PROXY_HOPS` reverse proxies."""
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_HOPS
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    # Each trusted proxy appended the address it saw; the one our outermost proxy appended is the client.
    return forwarded[-hops] if len(forwarded) >= hops else remote


class ThrottledAuthenticationForm(AuthenticationForm):
    """Login that slows down password guessing: a few failures lock a username (and an address
    that tries many usernames) for a quarter of an hour, counted in the shared cache."""

    def _keys(self) -> list[tuple[str, int]]:
        username = (self.data.get("username") or "").strip().lower()[:150]
        address = client_address(self.request) if self.request else ""
        return [
            (f"login-failures:user:{username}", LOGIN_FAILURES_PER_USERNAME),
            (f"login-failures:addr:{address}", LOGIN_FAILURES_PER_ADDRESS),
        ]

    def clean(self) -> dict:
        for key, limit in self._keys():
            if cache.get(key, 0) >= limit:
                raise forms.ValidationError(
                    "Too many failed attempts. Wait 15 minutes, then try again.", code="throttled"
                )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            for key, _limit in self._keys():
                cache.add(key, 0, LOGIN_LOCKOUT_SECONDS)
                try:
                    cache.incr(key)
                except ValueError:
                    cache.set(key, 1, LOGIN_LOCKOUT_SECONDS)
            raise
        cache.delete(self._keys()[0][0])
        return cleaned


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False)
    team_name = forms.CharField(
        max_length=120,
        required=False,
        help_text="Your shop or company. Leave empty when you are joining a team by invitation.",
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120)


class TeamSettingsForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "result_retention_days"]
        labels = {"result_retention_days": "Keep job results for (days)"}
        help_texts = {
            "result_retention_days": "Older finished jobs and their files are deleted; 0 keeps them."
        }


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "title",
            "category",
            "sku",
            "int_attr",
            "int_attr2",
            "str_attr",
            "str_attr2",
            "custom_content",
        ]
        labels = ATTRIBUTE_LABELS
        help_texts = ATTRIBUTE_HELP
        widgets = {"custom_content": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, team=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_sku(self) -> str:
        sku = self.cleaned_data["sku"].strip()
        if sku and self.team is not None:
            clash = Product.objects.for_team(self.team).filter(sku=sku)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise forms.ValidationError("Another product of your team already has this SKU.")
        return sku


class CatalogFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search title or SKU")
    category = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, choices=[("", "All categories"), *Category.choices]
    )
    sort = forms.ChoiceField(
        required=False,
        label="Sort",
        choices=[(key, label) for key, (label, _ordering) in PRODUCT_SORTS.items()],
    )


class InvitationForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["role", "email"]


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
