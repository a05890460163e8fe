from django import forms

from .kinds.erase import TYPE_LABELS

TYPE_CHOICES = [(number, f"{number} · {label}") for number, label in TYPE_LABELS.items()]


class EraseForm(forms.Form):
    """Which element types to remove on the product and around it (the API's two lists)."""

    object_types = forms.TypedMultipleChoiceField(
        label="On the product",
        choices=TYPE_CHOICES,
        coerce=int,
        required=False,
        initial=[],
        widget=forms.CheckboxSelectMultiple,
        help_text="Text printed on the product stays unless you tick its type here.",
    )
    non_object_types = forms.TypedMultipleChoiceField(
        label="On the background",
        choices=TYPE_CHOICES,
        coerce=int,
        required=False,
        initial=[1, 2, 3, 4],
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("object_types") and not data.get("non_object_types"):
            raise forms.ValidationError("Choose at least one type of element to erase.")
        return data

    def job_params(self) -> dict:
        return {
            "object_types": sorted(self.cleaned_data["object_types"]),
            "non_object_types": sorted(self.cleaned_data["non_object_types"]),
            "source": "web",
        }


class EraseMaskForm(forms.Form):
    """The editor's painted mask, RLE over the photo's pixels (0-based starts)."""

    mask = forms.CharField(strip=True, required=False, max_length=20_000_000)
    detection = forms.IntegerField(required=False, min_value=1)
