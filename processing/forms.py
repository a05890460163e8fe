from django import forms

SIZE_PRESETS = [
    ("original", "Original size and position"),
    ("800x800", "800 × 800"),
    ("1000x1000", "1000 × 1000"),
    ("1600x1600", "1600 × 1600"),
    ("custom", "Custom size"),
]


class CutoutForm(forms.Form):
    background = forms.ChoiceField(
        choices=[("white", "White background"), ("transparent", "Transparent (PNG)")],
        initial="white",
        widget=forms.RadioSelect,
    )
    model_type = forms.ChoiceField(
        choices=[("general", "Product (general)"), ("human", "Person / portrait")],
        initial="general",
        label="Subject",
    )
    size = forms.ChoiceField(choices=SIZE_PRESETS, initial="1000x1000", label="Output size")
    width = forms.IntegerField(min_value=100, max_value=4096, required=False, label="Custom width")
    height = forms.IntegerField(min_value=100, max_value=4096, required=False, label="Custom height")
    margin = forms.IntegerField(
        min_value=0, max_value=40, initial=5, label="Margin (%)", help_text="Free space around the product."
    )
    keep_shadow = forms.BooleanField(required=False, label="Keep the photo's contact shadow")

    def clean(self) -> dict:
        data = super().clean()
        size = data.get("size")
        if size == "custom":
            if not data.get("width") and not data.get("height"):
                raise forms.ValidationError("Give a width, a height or both for a custom size.")
            data["target_width"], data["target_height"] = data.get("width"), data.get("height")
        elif size and size != "original":
            width, height = size.split("x")
            data["target_width"], data["target_height"] = int(width), int(height)
        else:
            data["target_width"] = data["target_height"] = None
        return data

    def job_params(self) -> dict:
        data = self.cleaned_data
        return {
            "background": data["background"],
            "model_type": data["model_type"],
            "target_width": data["target_width"],
            "target_height": data["target_height"],
            "margin": data["margin"] / 100,
            "keep_shadow": data["keep_shadow"],
        }
