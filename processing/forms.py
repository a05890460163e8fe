import re

from django import forms

SIZE_PRESETS = [
    ("original", "Original size and position"),
    ("800x800", "800 × 800"),
    ("1000x1000", "1000 × 1000"),
    ("1600x1600", "1600 × 1600"),
    ("custom", "Custom size"),
]
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


class ColourInput(forms.TextInput):
    """The browser's colour picker; without one it is a text box that takes "#rrggbb"."""

    input_type = "color"


class CutoutForm(forms.Form):
    background = forms.ChoiceField(
        choices=[
            ("white", "White background"),
            ("transparent", "Transparent (PNG)"),
            ("colour", "A colour"),
        ],
        initial="white",
        widget=forms.RadioSelect,
    )
    background_colour = forms.CharField(
        required=False,
        initial="#f1ede4",
        max_length=7,
        label="Background colour",
        widget=ColourInput,
        help_text="Any colour as #rrggbb.",
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

    @classmethod
    def initial_from_params(cls, params: dict) -> dict:
        """The form's values that would start a job with these parameters again (for a re-run)."""
        background = params.get("background", "white")
        initial: dict = {"background": background if background in ("white", "transparent") else "colour"}
        if initial["background"] == "colour":
            initial["background_colour"] = background
        width, height = params.get("target_width"), params.get("target_height")
        if not width and not height:
            initial["size"] = "original"
        elif width and width == height and f"{width}x{height}" in dict(SIZE_PRESETS):
            initial["size"] = f"{width}x{height}"
        else:
            initial.update(size="custom", width=width, height=height)
        initial["model_type"] = params.get("model_type", "general")
        initial["margin"] = round(100 * float(params.get("margin", 0.05)))
        initial["keep_shadow"] = bool(params.get("keep_shadow", False))
        return initial

    def clean_background_colour(self) -> str:
        value = (self.cleaned_data.get("background_colour") or "").strip()
        if not value:
            return ""
        match = _HEX_COLOUR.fullmatch(value)
        if match is None:
            raise forms.ValidationError("Give the colour as #rrggbb, e.g. #f1ede4.")
        digits = match.group(1).lower()
        if len(digits) == 3:
            digits = "".join(digit * 2 for digit in digits)
        return f"#{digits}"

    def clean(self) -> dict:
        data = super().clean()
        size = data.get("size")
        # A field of a choice not picked is hidden on the page and ignored here, errors included.
        ignored = [
            *(("width", "height") if size != "custom" else ()),
            *(("background_colour",) if data.get("background") != "colour" else ()),
        ]
        for name in ignored:
            self._errors.pop(name, None)
            data.pop(name, None)
        if size == "custom":
            if not data.get("width") and not data.get("height"):
                raise forms.ValidationError("Give a width, a height or both for a custom size.")
            data["target_width"], data["target_height"] = data.get("width"), data.get("height")
        elif size and size != "original":
            width, height = size.split("x")
            data["target_width"], data["target_height"] = int(width), int(height)
        else:
            data["target_width"] = data["target_height"] = None
        if data.get("background") == "colour":
            colour = data.get("background_colour")
            if not colour and "background_colour" not in self.errors:
                self.add_error("background_colour", "Choose the background colour.")
            # White picked as a colour is the white background (and the same file).
            data["background"] = "white" if colour == "#ffffff" else colour
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
