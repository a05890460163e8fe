"""Sample product photos for the demo shop, drawn here with Pillow and numpy.

They are made by this code, so they ship under the project's own licence (LICENSE); nothing comes from
a photo collection or the benchmark sets. Each is a plain product-like shape (mug, bottle, tote bag,
desk lamp, potted plant) lit and shaded on a wall-and-table or a studio sweep, so the studio's tools
have something real to do: the cut-out separates product from table and wall, one photo carries a
promotion badge for Erase elements, and the set gives search and scenes a small catalog. Drawing is
deterministic: the same code gives the same bytes, which the upload's duplicate check recognises.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIDE = 1200
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class DemoPhoto:
    filename: str
    draw: Callable[[], Image.Image]

    def jpeg(self) -> bytes:
        buffer = io.BytesIO()
        self.draw().save(buffer, "JPEG", quality=90)
        return buffer.getvalue()


@dataclass(frozen=True)
class DemoProduct:
    title: str
    category: int  # catalog.models.Category
    sku: str
    price: int  # int_attr: the price in the shop's smallest unit
    colour: str  # str_attr
    photos: tuple[DemoPhoto, ...]


# --- backgrounds -------------------------------------------------------------------------------------
def _vertical_gradient(height: int, width: int, top: RGB, bottom: RGB) -> np.ndarray:
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    return np.broadcast_to(
        np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t, (height, width, 3)
    )


def wall_and_table(wall: RGB, table: RGB, horizon: float = 0.62, seed: int = 1) -> Image.Image:
    """A lit wall above a wooden table top seen slightly from above, with a soft grain."""
    rng = np.random.default_rng(seed)
    split = int(SIDE * horizon)
    pixels = np.empty((SIDE, SIDE, 3), np.float32)
    pixels[:split] = _vertical_gradient(split, SIDE, tuple(min(255, c + 18) for c in wall), wall)
    table_rows = SIDE - split
    pixels[split:] = _vertical_gradient(table_rows, SIDE, tuple(max(0, c - 25) for c in table), table)
    # Wood grain: long horizontal streaks that bend a little, darker and lighter.
    rows = np.arange(table_rows, dtype=np.float32)[:, None]
    columns = np.arange(SIDE, dtype=np.float32)[None, :]
    phase = rng.uniform(0, 2 * math.pi, 3)
    grain = (
        np.sin(rows * 0.35 + 6 * np.sin(columns / 260 + phase[0]) + phase[1]) * 0.6
        + np.sin(rows * 0.11 + 3 * np.sin(columns / 410 + phase[2])) * 0.4
    )
    pixels[split:] *= (1.0 + 0.06 * grain)[..., None]
    # A faint vignette keeps it photographic.
    ys, xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32) / SIDE - 0.5
    pixels *= (1.0 - 0.22 * (xs**2 + ys**2))[..., None]
    pixels += rng.normal(0, 2.0, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def studio_sweep(colour: RGB = (236, 236, 233), seed: int = 2) -> Image.Image:
    """A seamless paper backdrop: lighter at the top, a soft floor."""
    rng = np.random.default_rng(seed)
    pixels = _vertical_gradient(
        SIDE, SIDE, tuple(min(255, c + 12) for c in colour), tuple(c - 28 for c in colour)
    )
    pixels = pixels + rng.normal(0, 1.5, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def cast_shadow(image: Image.Image, box: tuple[int, int, int, int], strength: float = 0.45) -> None:
    """A soft contact shadow: a blurred dark ellipse where the product meets the surface."""
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).ellipse(box, fill=int(255 * strength))
    mask = mask.filter(ImageFilter.GaussianBlur(max(4, (box[2] - box[0]) // 14)))
    image.paste(Image.new("RGB", image.size, (25, 20, 15)), mask=mask)


# --- shading ------------------------------------------------------------------------------------------
def cylinder_shade(
    size: tuple[int, int], colour: RGB, light: float = 0.35, gloss: float = 0.5
) -> Image.Image:
    """A colour field shaded like a lit cylinder: bright toward `light` (0..1 across), a highlight, dark rims."""
    width, height = size
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)
    falloff = np.clip(1.0 - np.abs(x - light) * 1.3, 0.0, 1.0)
    rim = np.sin(np.pi * np.clip(x, 0.001, 0.999)) ** 0.35
    factor = (0.45 + 0.65 * falloff) * rim
    highlight = gloss * np.exp(-(((x - light + 0.08) / 0.035) ** 2))
    row = np.array(colour, np.float32)[None, :] * factor[:, None] + 255.0 * highlight[:, None]
    pixels = np.broadcast_to(row[None, :, :], (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def paste_shaded(
    image: Image.Image, shape: Image.Image, colour: RGB, *, light=0.35, gloss=0.5, opacity=1.0
) -> None:
    """Fill the white parts of `shape` (an L mask the size of the image) with a shaded cylinder colour."""
    box = shape.getbbox()
    if box is None:
        return
    x0, y0, x1, y1 = box
    shaded = cylinder_shade((x1 - x0, y1 - y0), colour, light=light, gloss=gloss)
    mask = shape.crop(box)
    if opacity < 1.0:
        mask = mask.point(lambda value: int(value * opacity))
    image.paste(shaded, (x0, y0), mask)


def new_mask() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    mask = Image.new("L", (SIDE, SIDE), 0)
    return mask, ImageDraw.Draw(mask)


# --- products ----------------------------------------------------------------------------------------
def mug(
    background: Image.Image, colour: RGB = (184, 86, 58), floor: int = 900, scale: float = 1.0
) -> Image.Image:
    image = background.copy()
    width, height = int(360 * scale), int(400 * scale)
    x0, y1 = SIDE // 2 - width // 2 - int(40 * scale), floor
    y0 = y1 - height
    cast_shadow(image, (x0 - 30, y1 - 26, x0 + width + int(150 * scale), y1 + 34))
    # The handle first, behind the body: a thick ring on the right.
    handle, draw = new_mask()
    hx0, hy0 = x0 + width - int(60 * scale), y0 + int(80 * scale)
    draw.ellipse((hx0, hy0, hx0 + int(190 * scale), hy0 + int(230 * scale)), fill=255)
    draw.ellipse(
        (hx0 + int(50 * scale), hy0 + int(55 * scale), hx0 + int(140 * scale), hy0 + int(175 * scale)), fill=0
    )
    paste_shaded(image, handle, tuple(int(c * 0.85) for c in colour), light=0.3, gloss=0.25)
    body, draw = new_mask()
    draw.rounded_rectangle((x0, y0, x0 + width, y1), radius=int(40 * scale), fill=255)
    paste_shaded(image, body, colour, light=0.32, gloss=0.45)
    # The rim and the dark inside, seen from a little above.
    rim = ImageDraw.Draw(image)
    rim.ellipse(
        (x0, y0 - int(26 * scale), x0 + width, y0 + int(30 * scale)),
        fill=tuple(min(255, c + 40) for c in colour),
    )
    rim.ellipse(
        (x0 + int(16 * scale), y0 - int(14 * scale), x0 + width - int(16 * scale), y0 + int(20 * scale)),
        fill=(52, 30, 24),
    )
    return image


def bottle(background: Image.Image, colour: RGB = (46, 140, 150), floor: int = 930) -> Image.Image:
    image = background.copy()
    cx, width = SIDE // 2 + 30, 250
    body_top, shoulder_top, neck_top = floor - 520, floor - 610, floor - 720
    cast_shadow(image, (cx - width // 2 - 20, floor - 22, cx + width // 2 + 90, floor + 26), strength=0.35)
    shape, draw = new_mask()
    draw.rounded_rectangle((cx - width // 2, body_top, cx + width // 2, floor), radius=46, fill=255)
    draw.polygon(
        [
            (cx - width // 2, body_top + 40),
            (cx - 52, shoulder_top),
            (cx + 52, shoulder_top),
            (cx + width // 2, body_top + 40),
        ],
        fill=255,
    )
    draw.rectangle((cx - 52, neck_top, cx + 52, shoulder_top + 4), fill=255)
    # Glass: the backdrop shows through a little.
    paste_shaded(image, shape, colour, light=0.3, gloss=0.7, opacity=0.88)
    cap, draw = new_mask()
    draw.rounded_rectangle((cx - 60, neck_top - 95, cx + 60, neck_top + 8), radius=14, fill=255)
    paste_shaded(image, cap, (40, 42, 48), light=0.35, gloss=0.3)
    # A paper label around the middle.
    label, draw = new_mask()
    draw.rectangle((cx - width // 2 + 2, floor - 380, cx + width // 2 - 2, floor - 220), fill=255)
    paste_shaded(image, label, (238, 232, 214), light=0.32, gloss=0.1)
    return image


def tote_bag(background: Image.Image, colour: RGB = (222, 206, 170), floor: int = 960) -> Image.Image:
    image = background.copy()
    cx = SIDE // 2
    cast_shadow(image, (cx - 330, floor - 30, cx + 350, floor + 30), strength=0.4)
    straps, draw = new_mask()
    for offset in (-150, 150):
        draw.arc(
            (cx + offset - 120, floor - 860, cx + offset + 120, floor - 360), 180, 360, fill=255, width=34
        )
    paste_shaded(image, straps, tuple(int(c * 0.8) for c in colour), light=0.4, gloss=0.05)
    body, draw = new_mask()
    draw.polygon(
        [(cx - 280, floor - 600), (cx + 280, floor - 600), (cx + 320, floor), (cx - 320, floor)], fill=255
    )
    paste_shaded(image, body, colour, light=0.42, gloss=0.05)
    # A printed leaf on the front, which stays when promotions are erased: it is on the product.
    mark = ImageDraw.Draw(image)
    mark.ellipse((cx - 90, floor - 400, cx + 90, floor - 220), fill=(58, 110, 70))
    mark.line((cx - 60, floor - 250, cx + 60, floor - 370), fill=(222, 206, 170), width=10)
    return image


def desk_lamp(background: Image.Image, floor: int = 940) -> Image.Image:
    image = background.copy()
    cx = SIDE // 2 - 120
    cast_shadow(image, (cx - 170, floor - 30, cx + 190, floor + 30), strength=0.5)
    arm = ImageDraw.Draw(image)
    joint, head = (cx + 230, floor - 520), (cx + 40, floor - 760)
    for start, end in (((cx, floor - 40), joint), (joint, head)):
        arm.line((start, end), fill=(35, 36, 40), width=30)
        arm.line(((start[0] - 6, start[1]), (end[0] - 6, end[1])), fill=(90, 92, 98), width=6)
    arm.ellipse((joint[0] - 26, joint[1] - 26, joint[0] + 26, joint[1] + 26), fill=(60, 60, 66))
    base, draw = new_mask()
    draw.ellipse((cx - 160, floor - 70, cx + 160, floor + 10), fill=255)
    draw.rectangle((cx - 160, floor - 110, cx + 160, floor - 30), fill=255)
    paste_shaded(image, base, (40, 41, 46), light=0.3, gloss=0.4)
    shade, draw = new_mask()
    draw.polygon(
        [
            (head[0] - 40, head[1] - 30),
            (head[0] + 60, head[1] - 60),
            (head[0] + 330, head[1] + 150),
            (head[0] + 90, head[1] + 260),
        ],
        fill=255,
    )
    paste_shaded(image, shade, (232, 186, 40), light=0.38, gloss=0.35)
    # The bulb's glow under the shade.
    glow = Image.new("L", image.size, 0)
    ImageDraw.Draw(glow).ellipse((head[0] + 120, head[1] + 130, head[0] + 260, head[1] + 250), fill=190)
    image.paste(Image.new("RGB", image.size, (255, 246, 210)), mask=glow.filter(ImageFilter.GaussianBlur(18)))
    return image


def potted_plant(background: Image.Image, floor: int = 930) -> Image.Image:
    image = background.copy()
    cx = SIDE // 2
    cast_shadow(image, (cx - 210, floor - 26, cx + 260, floor + 30), strength=0.45)
    leaves = Image.new("RGBA", image.size, (0, 0, 0, 0))
    for index, angle in enumerate(range(-70, 71, 20)):
        leaf = Image.new("RGBA", (160, 460), (0, 0, 0, 0))
        shade = 120 + (index % 3) * 22
        ImageDraw.Draw(leaf).ellipse((10, 0, 150, 460), fill=(40, shade, 60, 255))
        ImageDraw.Draw(leaf).line((80, 40, 80, 440), fill=(90, shade + 50, 100, 255), width=5)
        turned = leaf.rotate(-angle, expand=True, resample=Image.Resampling.BICUBIC)
        tip = (
            cx + int(math.sin(math.radians(angle)) * 220),
            floor - 420 - int(math.cos(math.radians(angle)) * 220),
        )
        leaves.alpha_composite(turned, (tip[0] - turned.width // 2, tip[1] - turned.height // 2))
    image.paste(leaves, (0, 0), leaves)
    pot, draw = new_mask()
    draw.polygon(
        [(cx - 190, floor - 340), (cx + 190, floor - 340), (cx + 140, floor), (cx - 140, floor)], fill=255
    )
    draw.rectangle((cx - 210, floor - 380, cx + 210, floor - 320), fill=255)
    paste_shaded(image, pot, (196, 104, 70), light=0.33, gloss=0.2)
    return image


def promotion_badge(image: Image.Image, text: str = "-30%", caption: str = "TODAY ONLY") -> Image.Image:
    """A shop's promotion stamped in a corner: what Erase elements removes (a coloured block with text)."""
    image = image.copy()
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((60, 60, 420, 250), radius=24, fill=(214, 32, 48))
    draw.text((240, 125), text, fill=(255, 255, 255), font=ImageFont.load_default(size=96), anchor="mm")
    draw.text((240, 210), caption, fill=(255, 235, 235), font=ImageFont.load_default(size=36), anchor="mm")
    return image


# --- the demo catalog ----------------------------------------------------------------------------------
def demo_products() -> list[DemoProduct]:
    """The demo shop's products (catalog categories: 3 Home & Garden, 6 Sports, 7 Clothing)."""
    warm_wall, oak = (214, 204, 190), (150, 104, 66)
    cool_wall, ash = (200, 210, 216), (186, 160, 126)
    return [
        DemoProduct(
            "Terracotta coffee mug 350 ml",
            3,
            "DEMO-MUG-01",
            1490,
            "terracotta",
            (
                DemoPhoto("mug-on-table.jpg", lambda: mug(wall_and_table(warm_wall, oak, seed=3))),
                DemoPhoto(
                    "mug-studio-promo.jpg", lambda: promotion_badge(mug(studio_sweep(), scale=1.1, floor=960))
                ),
            ),
        ),
        DemoProduct(
            "Glass water bottle 500 ml, teal",
            6,
            "DEMO-BTL-01",
            1990,
            "teal",
            (
                DemoPhoto("bottle-on-table.jpg", lambda: bottle(wall_and_table(cool_wall, ash, seed=5))),
                DemoPhoto(
                    "bottle-studio.jpg", lambda: bottle(studio_sweep((230, 234, 236), seed=6), floor=980)
                ),
            ),
        ),
        DemoProduct(
            "Canvas tote bag with leaf print",
            7,
            "DEMO-BAG-01",
            2490,
            "natural",
            (DemoPhoto("tote-on-table.jpg", lambda: tote_bag(wall_and_table(warm_wall, ash, seed=7))),),
        ),
        DemoProduct(
            "Desk lamp, yellow shade",
            3,
            "DEMO-LMP-01",
            3990,
            "yellow",
            (DemoPhoto("lamp-on-desk.jpg", lambda: desk_lamp(wall_and_table(cool_wall, oak, seed=9))),),
        ),
        DemoProduct(
            "Potted plant in terracotta pot",
            3,
            "DEMO-PLT-01",
            1790,
            "green",
            (DemoPhoto("plant-on-table.jpg", lambda: potted_plant(wall_and_table(warm_wall, oak, seed=11))),),
        ),
    ]
