from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from .models import ApiToken, Category, Invitation, Product, Role


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
        labels = {
            "int_attr": "Integer attribute 1",
            "int_attr2": "Integer attribute 2",
            "str_attr": "Text attribute 1",
            "str_attr2": "Text attribute 2",
        }
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
