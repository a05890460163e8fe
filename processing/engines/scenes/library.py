"""The scene preset library: scene types, categories, the presets (read from `presets.toml`), and the
words a product title is read with. No Django; standard library only (the presets load in about 10 ms).

Scene types and categories follow the seed's scene query API:
types 1 Indoor, 2 Outdoor, 3 Atmosphere, 4 Promotion; categories 1 General Purpose, 2 Consumer
Electronics, 3 Home & Garden, 4 Automobiles, Parts & Accessories, 5 Computer & Office, 6 Sports &
Entertainment, 7 Clothing, 8 Beauty & Health, 9 Tools, 10 Toys & Hobbies, 11 Phones & Telecommunications.

The presets are data: `presets.toml` beside this module, checked when it is loaded (`load_presets` raises a
ValueError naming the preset and the field). `model_num` is public and stable: never renumber or reuse one;
append new presets with new numbers. Geometry is in fractions of the (square) canvas: `surface_y` is where
products stand, `product_box` (x0, y0, x1, y1) the area a product may occupy, `text_box` the free area a
promotion leaves for a headline. `light_angle` is where the key light comes from in the picture plane
(degrees, 0 = right, 90 = top, 180 = left); `light_softness` 0 (hard sun) .. 1 (overcast / big softbox).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

SCENE_TYPES: dict[int, tuple[str, str]] = {
    1: ("Indoor", "室内"),
    2: ("Outdoor", "户外"),
    3: ("Atmosphere", "氛围"),
    4: ("Promotion", "促销"),
}

CATEGORIES: dict[int, tuple[str, str]] = {
    1: ("General Purpose", "通用"),
    2: ("Consumer Electronics", "消费电子"),
    3: ("Home & Garden", "家居园艺"),
    4: ("Automobiles, Parts & Accessories", "汽车及配件"),
    5: ("Computer & Office", "电脑办公"),
    6: ("Sports & Entertainment", "运动娱乐"),
    7: ("Clothing", "服装"),
    8: ("Beauty & Health", "美容健康"),
    9: ("Tools", "工具"),
    10: ("Toys & Hobbies", "玩具爱好"),
    11: ("Phones & Telecommunications", "手机通讯"),
}

INDOOR, OUTDOOR, ATMOSPHERE, PROMOTION = 1, 2, 3, 4


@dataclass(frozen=True)
class ScenePreset:
    model_num: str
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str
    scene_types: tuple[int, ...]
    categories: tuple[int, ...]
    palette: tuple[str, ...]  # dominant colours, most area first ("#rrggbb")
    surface_y: float
    product_box: tuple[float, float, float, float]
    light_angle: float
    light_softness: float
    kind: str  # generator in render.GENERATORS (one of KINDS)
    params: dict[str, Any] = field(repr=False, hash=False, compare=False)
    seed: int = 0
    text_box: tuple[float, float, float, float] | None = None

    @property
    def type_names(self) -> list[str]:
        return [SCENE_TYPES[t][0] for t in self.scene_types]

    @property
    def category_names(self) -> list[str]:
        return [CATEGORIES[c][0] for c in self.categories]

    def text(self) -> str:
        """What the title embedding is compared with: both languages, names first."""
        return f"{self.name_en}. {self.description_en} {self.name_zh}。{self.description_zh}"


# Default geometry per generator: (surface_y, product_box).
_GEOMETRY = {
    "sweep": (0.78, (0.22, 0.24, 0.78, 0.78)),
    "tabletop": (0.77, (0.22, 0.22, 0.78, 0.77)),
    "room": (0.86, (0.16, 0.18, 0.84, 0.86)),
    "outdoor": (0.80, (0.20, 0.24, 0.80, 0.80)),
    "atmosphere": (0.82, (0.22, 0.28, 0.78, 0.82)),
}

# The generators in render.GENERATORS (listed here so that reading the library never imports OpenCV; a test
# checks that the two agree).
KINDS = ("sweep", "tabletop", "room", "outdoor", "atmosphere", "promo")

PRESETS_PATH = Path(__file__).with_name("presets.toml")

# Keys of one [[preset]] table: required ones, and optional ones (surface_y and product_box go together).
_REQUIRED_KEYS = (
    "model_num",
    "name_en",
    "name_zh",
    "description_en",
    "description_zh",
    "scene_types",
    "categories",
    "palette",
    "kind",
    "light_angle",
    "light_softness",
    "params",
)
_OPTIONAL_KEYS = ("surface_y", "product_box", "text_box")
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class UnknownSceneError(KeyError):
    pass


class _PresetCheck:
    """Type and range checks of one [[preset]] table; every failure names the file, the preset and the field."""

    def __init__(self, source: str, index: int, entry: Mapping[str, Any]) -> None:
        self.source = source
        num = entry.get("model_num")
        self.where = f"preset {num}" if isinstance(num, str) and num else f"preset #{index + 1}"
        self.entry = entry

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ValueError(f"{self.source}: {self.where}: {key}: {problem}")

    def text(self, key: str) -> str:
        value = self.entry[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"must be a non-empty string, not {value!r}")
        return value

    def number(self, key: str, lo: float, hi: float, value: Any = None) -> float:
        value = self.entry[key] if value is None else value
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"must be a number, not {value!r}")
        if not lo <= value <= hi:
            self.fail(key, f"{value!r} is out of range {lo}..{hi}")
        return value

    def ids(self, key: str, known: Mapping[int, tuple[str, str]], what: str) -> list[int]:
        value = self.entry[key]
        if not isinstance(value, list) or not value:
            self.fail(key, f"must be a non-empty list of {what} ids, not {value!r}")
        for v in value:
            if isinstance(v, bool) or not isinstance(v, int):
                self.fail(key, f"must list {what} ids (integers), not {v!r}")
            if v not in known:
                self.fail(key, f"unknown {what} {v} (known: {', '.join(map(str, known))})")
        if len(set(value)) != len(value):
            self.fail(key, f"lists a {what} twice: {value!r}")
        return value

    def box(self, key: str, value: Any = None) -> list[float]:
        value = self.entry[key] if value is None else value
        if not isinstance(value, list) or len(value) != 4:
            self.fail(key, f"must be a box [x0, y0, x1, y1], not {value!r}")
        for v in value:
            self.number(key, 0.0, 1.0, v)
        x0, y0, x1, y1 = value
        if not (x0 < x1 and y0 < y1):
            self.fail(key, f"{value!r} is empty: it needs x0 < x1 and y0 < y1")
        return value


def _preset_from_table(entry: Any, index: int, source: str) -> ScenePreset:
    """One [[preset]] table, checked, with what the loader derives (default geometry, params.light, seed)."""
    if not isinstance(entry, dict):
        raise ValueError(f"{source}: preset #{index + 1}: must be a [[preset]] table, not {entry!r}")
    check = _PresetCheck(source, index, entry)
    for key in entry:
        if key not in _REQUIRED_KEYS and key not in _OPTIONAL_KEYS:
            check.fail(key, f"unknown key (known: {', '.join(_REQUIRED_KEYS + _OPTIONAL_KEYS)})")
    for key in _REQUIRED_KEYS:
        if key not in entry:
            check.fail(key, "missing")
    num = check.text("model_num")
    if not (num.isascii() and num.isdecimal()):
        check.fail("model_num", f"must be a string of digits, not {num!r}")
    for key in ("name_en", "name_zh", "description_en", "description_zh"):
        check.text(key)
    scene_types = check.ids("scene_types", SCENE_TYPES, "scene type")
    categories = check.ids("categories", CATEGORIES, "category")
    palette = entry["palette"]
    if not isinstance(palette, list) or not palette:
        check.fail("palette", f"must be a non-empty list of colours, not {palette!r}")
    for colour in palette:
        if not isinstance(colour, str) or not _HEX_COLOUR.fullmatch(colour):
            check.fail("palette", f"colours are written #rrggbb, not {colour!r}")
    kind = check.text("kind")
    if kind not in KINDS:
        check.fail("kind", f"unknown generator {kind!r} (known: {', '.join(KINDS)})")
    light = check.number("light_angle", 0.0, 360.0)
    soft = check.number("light_softness", 0.0, 1.0)
    params = entry["params"]
    if not isinstance(params, dict):
        check.fail("params", f"must be a table, not {params!r}")
    if "light" in params:
        check.fail("params.light", "is set from light_angle: leave it out of params")
    text_box = check.box("text_box") if "text_box" in entry else None

    # Geometry: as given, else on the podium's top (the product stands on it), else the generator's default.
    if ("surface_y" in entry) != ("product_box" in entry):
        missing = "product_box" if "surface_y" in entry else "surface_y"
        check.fail(missing, "missing: surface_y and product_box are given together")
    if "surface_y" in entry:
        geometry = (check.number("surface_y", 0.0, 1.0), check.box("product_box"))
    elif "podium" in params:
        podium = params["podium"]
        if not isinstance(podium, dict) or "top" not in podium:
            check.fail("params.podium", f"must be a table with a top, not {podium!r}")
        top = check.number("params.podium.top", 0.0, 1.0, podium["top"])
        geometry = (top, (0.26, max(0.08, top - 0.44), 0.74, top))
        check.box("params.podium.top (the product box it gives)", list(geometry[1]))
    elif kind in _GEOMETRY:
        geometry = _GEOMETRY[kind]
    else:
        check.fail("product_box", f"missing: generator {kind!r} has no default geometry")
    return ScenePreset(
        model_num=num,
        name_en=entry["name_en"],
        name_zh=entry["name_zh"],
        description_en=entry["description_en"],
        description_zh=entry["description_zh"],
        scene_types=tuple(scene_types),
        categories=tuple(categories),
        palette=tuple(palette),
        surface_y=geometry[0],
        product_box=tuple(geometry[1]),
        light_angle=float(light),
        light_softness=float(soft),
        kind=kind,
        params={**params, "light": light},
        seed=int(num) * 7919 % 100003,
        text_box=tuple(text_box) if text_box is not None else None,
    )


def load_presets(path: str | Path = PRESETS_PATH) -> tuple[ScenePreset, ...]:
    """The presets of a data file in file order, checked: a ValueError names the preset and field at fault."""
    source = Path(path).name
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"preset"})
    if unknown:
        raise ValueError(f"{source}: unknown top-level key {unknown[0]!r} (presets are [[preset]] tables)")
    tables = data.get("preset")
    if not isinstance(tables, list) or not tables:
        raise ValueError(f"{source}: no [[preset]] tables")
    presets: list[ScenePreset] = []
    seen: set[str] = set()
    for index, entry in enumerate(tables):
        preset = _preset_from_table(entry, index, source)
        if preset.model_num in seen:
            raise ValueError(f"{source}: preset {preset.model_num}: model_num: used by an earlier preset too")
        seen.add(preset.model_num)
        presets.append(preset)
    return tuple(presets)


PRESETS: tuple[ScenePreset, ...] = load_presets()
BY_NUM: dict[str, ScenePreset] = {p.model_num: p for p in PRESETS}


def list_presets() -> list[ScenePreset]:
    return list(PRESETS)


def get_preset(model_num: str | int) -> ScenePreset:
    try:
        return BY_NUM[str(model_num)]
    except KeyError:
        raise UnknownSceneError(f"unknown scene modelNum {model_num!r}") from None


# What each category sells, for reading a category off a product title (one English and one Chinese
# anchor per category; the title's similarity to them becomes category probabilities).
CATEGORY_ANCHORS: dict[int, tuple[str, str]] = {
    1: (
        "general merchandise: gifts, daily necessities, party supplies, pet supplies, food and snacks, "
        "travel accessories, umbrellas, storage",
        "通用百货：礼品、日用品、派对用品、宠物用品、零食食品、旅行用品、雨伞、收纳",
    ),
    2: (
        "consumer electronics: headphones, earbuds, bluetooth speaker, camera, drone, smart watch, TV, "
        "projector, power bank, game console",
        "消费电子：耳机、蓝牙音箱、相机、无人机、智能手表、电视、投影仪、充电宝、游戏机",
    ),
    3: (
        "home and garden: kitchen cookware, pots and pans, tableware, furniture, bedding, home decor, lamps, "
        "storage, cleaning, plants and garden tools",
        "家居园艺：厨房锅具、餐具、家具、床上用品、家居装饰、灯具、收纳、清洁用品、绿植与园艺工具",
    ),
    4: (
        "automobiles, parts and accessories: car parts, tires, car seat covers, dash cam, car charger, "
        "car phone mount, engine oil, car care, motorcycle",
        "汽车及配件：汽车零件、轮胎、座套、行车记录仪、车载充电器、车载手机支架、机油、汽车美容、摩托车",
    ),
    5: (
        "computer and office: laptop, keyboard, mouse, monitor, printer, hard drive, USB hub, stationery, "
        "pens, notebooks, office chair, desk organizer",
        "电脑办公：笔记本电脑、键盘、鼠标、显示器、打印机、硬盘、扩展坞、文具、笔、笔记本、办公椅、桌面收纳",
    ),
    6: (
        "sports and entertainment: fitness equipment, yoga mat, dumbbells, running, cycling, camping, "
        "fishing, swimming, ball sports, musical instruments",
        "运动娱乐：健身器材、瑜伽垫、哑铃、跑步、骑行、露营、钓鱼、游泳、球类运动、乐器",
    ),
    7: (
        "clothing and fashion: dress, shirt, t-shirt, jeans, jacket, coat, sweater, shoes, sneakers, bag, "
        "hat, scarf, jewelry, watch",
        "服装时尚：连衣裙、衬衫、T恤、牛仔裤、夹克、外套、毛衣、鞋子、运动鞋、包、帽子、围巾、饰品",
    ),
    8: (
        "beauty and health: skincare, serum, face cream, makeup, lipstick, perfume, shampoo, hair dryer, "
        "massage, vitamins, health care",
        "美容健康：护肤品、精华、面霜、彩妆、口红、香水、洗发水、吹风机、按摩、维生素、保健",
    ),
    9: (
        "tools: power tools, drill, screwdriver, wrench, hammer, pliers, saw, tool set, measuring tape, "
        "multimeter, soldering, hardware",
        "工具：电动工具、电钻、螺丝刀、扳手、锤子、钳子、锯、工具套装、卷尺、万用表、焊接、五金",
    ),
    10: (
        "toys and hobbies: kids toys, building blocks, dolls, plush toys, puzzles, RC cars, model kits, "
        "action figures, board games",
        "玩具爱好：儿童玩具、积木、娃娃、毛绒玩具、拼图、遥控车、模型、手办、桌游",
    ),
    11: (
        "phones and telecommunications: mobile phone, smartphone, phone case, screen protector, charger, "
        "charging cable, walkie talkie, SIM",
        "手机通讯：手机、智能手机、手机壳、钢化膜、充电器、数据线、对讲机、手机卡",
    ),
}

# What a title says about the kind of scene its product photo wants (scene type -> cue words). Product photos
# mostly want a clean studio, tabletop or interior; an outdoor scene suits products used outdoors, a mood
# (atmosphere) scene products bought as gifts, for a festival or for their glow, a promotion layout sale
# listings. English entries match at a word start ("camp" matches "camping"); Chinese ones anywhere.
TYPE_CUES: dict[int, tuple[str, ...]] = {
    OUTDOOR: (
        "outdoor",
        "camp",
        "tent",
        "hiking",
        "hike",
        "trek",
        "garden",
        "patio",
        "yard",
        "lawn",
        "backyard",
        "beach",
        "travel",
        "bike",
        "bicycle",
        "cycling",
        "running",
        "jogging",
        "fishing",
        "picnic",
        "sunglasses",
        "swim",
        "swimming",
        "surf",
        "ski",
        "snowboard",
        "climbing",
        "mountain",
        "solar",
        "waterproof",
        "windproof",
        "rain",
        "street",
        "park",
        "balcony",
        "pool",
        "kayak",
        "boat",
        "golf",
        "trail",
        "户外",
        "露营",
        "帐篷",
        "徒步",
        "登山",
        "花园",
        "庭院",
        "园艺",
        "阳台",
        "草坪",
        "沙滩",
        "海边",
        "旅行",
        "旅游",
        "骑行",
        "自行车",
        "跑步",
        "钓鱼",
        "鱼竿",
        "野餐",
        "太阳镜",
        "墨镜",
        "游泳",
        "冲浪",
        "滑雪",
        "防水",
        "防风",
        "防晒",
        "雨伞",
        "太阳能",
        "街头",
        "公园",
        "泳池",
        "高尔夫",
        "越野",
    ),
    ATMOSPHERE: (
        "gift",
        "present",
        "festival",
        "festive",
        "holiday",
        "christmas",
        "xmas",
        "valentine",
        "birthday",
        "anniversary",
        "party",
        "wedding",
        "halloween",
        "new year",
        "romantic",
        "luxury",
        "decoration",
        "decor",
        "ornament",
        "candle",
        "night light",
        "neon",
        "glow",
        "rgb",
        "gaming",
        "ambient",
        "mood",
        "fairy light",
        "string light",
        "led light",
        "lantern",
        "aroma",
        "scented",
        "surprise",
        "礼物",
        "礼品",
        "礼盒",
        "送礼",
        "送女友",
        "送男友",
        "节日",
        "圣诞",
        "情人节",
        "生日",
        "纪念日",
        "派对",
        "婚礼",
        "万圣节",
        "新年",
        "春节",
        "年货",
        "浪漫",
        "奢华",
        "轻奢",
        "装饰",
        "氛围",
        "夜灯",
        "发光",
        "电竞",
        "香薰",
        "蜡烛",
        "灯串",
        "彩灯",
        "惊喜",
        "七夕",
        "中秋",
    ),
    PROMOTION: (
        "sale",
        "discount",
        "deal",
        "clearance",
        "offer",
        "promo",
        "bundle",
        "bargain",
        "flash",
        "black friday",
        "coupon",
        "促销",
        "特价",
        "折扣",
        "打折",
        "清仓",
        "限时",
        "秒杀",
        "优惠",
        "包邮",
        "满减",
        "爆款",
        "特惠",
        "大促",
    ),
}
