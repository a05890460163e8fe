"""The scene preset library: metadata (cheap) and the recipe each background is rendered from.

Scene types and categories follow the seed's scene query API:
types 1 Indoor, 2 Outdoor, 3 Atmosphere, 4 Promotion; categories 1 General Purpose, 2 Consumer
Electronics, 3 Home & Garden, 4 Automobiles, Parts & Accessories, 5 Computer & Office, 6 Sports &
Entertainment, 7 Clothing, 8 Beauty & Health, 9 Tools, 10 Toys & Hobbies, 11 Phones & Telecommunications.

`model_num` is public and stable: never renumber or reuse one; append new presets with new numbers.
Geometry is in fractions of the (square) canvas: `surface_y` is where products stand, `product_box`
(x0, y0, x1, y1) the area a product may occupy, `text_box` the free area a promotion leaves for a headline.
`light_angle` is where the key light comes from in the picture plane (degrees, 0 = right, 90 = top,
180 = left); `light_softness` 0 (hard sun) .. 1 (overcast / big softbox).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    kind: str  # generator in scene_render.GENERATORS
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

_PRESETS: list[ScenePreset] = []


def _p(
    num,
    en,
    zh,
    den,
    dzh,
    types,
    cats,
    palette,
    kind,
    params,
    light=120.0,
    soft=0.7,
    geometry=None,
    text_box=None,
):
    if geometry is None:
        if "podium" in params:
            top = params["podium"]["top"]
            geometry = (top, (0.26, max(0.08, top - 0.44), 0.74, top))
        else:
            geometry = _GEOMETRY[kind]
    params = {**params, "light": light}
    _PRESETS.append(
        ScenePreset(
            model_num=str(num),
            name_en=en,
            name_zh=zh,
            description_en=den,
            description_zh=dzh,
            scene_types=tuple(types),
            categories=tuple(cats),
            palette=tuple(palette),
            surface_y=geometry[0],
            product_box=tuple(geometry[1]),
            light_angle=float(light),
            light_softness=float(soft),
            kind=kind,
            params=params,
            seed=int(num) * 7919 % 100003,
            text_box=text_box,
        )
    )


I, O, A, P = INDOOR, OUTDOOR, ATMOSPHERE, PROMOTION  # noqa: E741  (table shorthand)

# ---------------------------------------------------------------- indoor: studios and tabletops
_p(
    10001,
    "White studio sweep",
    "纯白摄影棚",
    "Clean seamless white paper backdrop with soft box light, for any product: electronics, phones, gadgets, "
    "accessories, e-commerce main image.",
    "干净的白色无缝背景纸，柔光箱照明，适合任何商品主图：数码产品、手机、小电器、配件。",
    [I],
    [1, 2, 11],
    ["#f4f4f3", "#dcdcdb"],
    "sweep",
    {"color": "#ebebea", "falloff": 0.08},
    light=110,
    soft=0.9,
)
_p(
    10002,
    "Warm grey studio",
    "暖灰摄影棚",
    "Warm grey paper sweep with gentle falloff, neutral backdrop for office supplies, tools, hardware, bags.",
    "暖灰色背景纸，光线柔和渐变，适合办公用品、五金工具、包袋等中性商品。",
    [I],
    [1, 5, 9],
    ["#bdb7ae", "#9b958c"],
    "sweep",
    {"color": "#c4beb5", "falloff": 0.14},
    light=135,
    soft=0.8,
)
_p(
    10003,
    "Blush pink studio",
    "莫兰迪粉摄影棚",
    "Soft blush pink backdrop with a pastel arch, for cosmetics, skincare, perfume, lipstick, jewelry and "
    "women's fashion accessories.",
    "柔和的莫兰迪粉背景配拱门造型，适合化妆品、护肤品、香水、口红、首饰与女士配饰。",
    [I, A],
    [8, 7, 1],
    ["#e9c9c1", "#d9a89c"],
    "sweep",
    {
        "color": "#ecd0c8",
        "shapes": [{"kind": "arch", "x": 0.5, "w": 0.5, "top": 0.12, "bottom": 0.62, "color": "#e2b7ab"}],
    },
    light=140,
    soft=0.85,
)
_p(
    10004,
    "Charcoal studio with rim light",
    "深灰轮廓光影棚",
    "Dark charcoal studio with a cool rim light and glossy floor, dramatic look for headphones, speakers, "
    "smartphones, watches, car accessories.",
    "深灰色影棚，冷色轮廓光与光泽地面，戏剧感，适合耳机、音箱、智能手机、手表、汽车配件。",
    [I, A],
    [2, 11, 4],
    ["#1f2124", "#3a3f46"],
    "sweep",
    {
        "color": "#2a2d31",
        "top": 0.7,
        "spot": 0.35,
        "rim": "#6fa8ff",
        "rim_strength": 0.35,
        "floor_shine": 0.06,
        "vignette": 0.45,
    },
    light=60,
    soft=0.4,
)
_p(
    10005,
    "Light oak tabletop",
    "浅色橡木桌面",
    "Light oak wooden table against a white wall with window light, for home goods, mugs, ceramics, "
    "notebooks, stationery and everyday items.",
    "白墙前的浅色橡木桌面，窗光柔和，适合家居用品、马克杯、陶瓷、笔记本、文具与日用品。",
    [I],
    [3, 1, 5],
    ["#efebe5", "#caa57e"],
    "tabletop",
    {
        "wall": {"kind": "paint", "color": "#e6e1da"},
        "surface": {"kind": "wood", "light": "#d9b995", "dark": "#b08658", "planks": 4},
        "window": 0.12,
    },
    light=150,
    soft=0.7,
)
_p(
    10006,
    "Walnut desk, green wall",
    "胡桃木书桌",
    "Dark walnut desk in front of a deep green wall, for laptops, keyboards, mouse, headphones, pens, "
    "phones and workspace gadgets.",
    "深绿色墙面前的胡桃木书桌，适合笔记本电脑、键盘、鼠标、耳机、钢笔、手机等桌面好物。",
    [I],
    [5, 2, 11],
    ["#2f4a3e", "#6b4a33"],
    "tabletop",
    {
        "wall": {"kind": "plaster", "color": "#355245"},
        "surface": {"kind": "wood", "light": "#8a6446", "dark": "#4d3322", "planks": 3},
        "falloff": 0.15,
    },
    light=45,
    soft=0.55,
)
_p(
    10007,
    "White marble counter",
    "白色大理石台面",
    "White Carrara marble counter with soft daylight, for kitchenware, tableware, skincare bottles, "
    "perfume, candles and luxury home goods.",
    "白色卡拉拉大理石台面，自然日光，适合厨具、餐具、护肤品瓶、香水、香薰蜡烛与精致家居。",
    [I],
    [3, 8],
    ["#f1efeb", "#d5d1cb"],
    "tabletop",
    {
        "wall": {"kind": "paint", "color": "#dedad4"},
        "surface": {"kind": "marble", "base": "#ebe8e3"},
        "window": 0.08,
        "sheen": 0.08,
    },
    light=135,
    soft=0.75,
)
_p(
    10008,
    "Black marble, moody",
    "黑色大理石",
    "Black marble with gold veins under a narrow spotlight, luxurious and moody, for jewelry, watches, "
    "perfume, cosmetics and premium accessories.",
    "聚光灯下的黑金大理石，奢华暗调，适合珠宝首饰、手表、香水、彩妆与高端配饰。",
    [I, A],
    [8, 7, 1],
    ["#151515", "#3a352e"],
    "tabletop",
    {
        "wall": {"kind": "plaster", "color": "#1c1b1a"},
        "surface": {"kind": "marble", "base": "#1b1a19", "vein": "#b89b6a", "strength": 0.8},
        "sheen": 0.6,
        "falloff": 0.2,
        "vignette": 0.4,
    },
    light=95,
    soft=0.35,
)
_p(
    10009,
    "Linen tablecloth",
    "亚麻桌布",
    "Natural beige linen tablecloth with window light and leaf shadows, cosy breakfast mood, for tableware, "
    "food, candles, folded clothes, scarves and handmade goods.",
    "米色亚麻桌布，窗光与树叶光影，温馨早餐氛围，适合餐具、食品、蜡烛、叠放的衣物、围巾和手作。",
    [I],
    [3, 7, 1],
    ["#e3dacd", "#cbbfae"],
    "tabletop",
    {
        "wall": {"kind": "plaster", "color": "#ece5da"},
        "surface": {"kind": "linen", "color": "#d9ccb9"},
        "leaves": 0.18,
        "window": 0.1,
    },
    light=150,
    soft=0.6,
)
_p(
    10010,
    "Concrete slab, industrial",
    "工业风水泥台",
    "Raw grey concrete slab and wall, industrial loft look, for tools, power banks, speakers, cameras, "
    "car parts and rugged gear.",
    "粗犷的灰色清水混凝土台面与墙面，工业风，适合工具、充电宝、音箱、相机、汽车零件与户外硬核装备。",
    [I],
    [9, 2, 4],
    ["#9e9b96", "#7d7a75"],
    "tabletop",
    {
        "wall": {"kind": "plaster", "color": "#b3b0aa"},
        "surface": {"kind": "concrete", "color": "#9d9a95"},
        "falloff": 0.16,
    },
    light=60,
    soft=0.5,
)
_p(
    10011,
    "Pastel terrazzo",
    "马卡龙水磨石",
    "Playful terrazzo surface with pastel chips and a cream wall, for skincare, cosmetics, toys, kids' "
    "products, ceramics and colourful home decor.",
    "马卡龙色碎石水磨石台面配奶油色墙，活泼俏皮，适合护肤彩妆、玩具、儿童用品、陶瓷和彩色家居装饰。",
    [I],
    [8, 10, 3],
    ["#f1e9df", "#d98c6a", "#8fa89b"],
    "tabletop",
    {"wall": {"kind": "paint", "color": "#f4e6d8"}, "surface": {"kind": "terrazzo"}},
    light=120,
    soft=0.8,
)
_p(
    10012,
    "Kitchen countertop",
    "厨房台面",
    "Bright kitchen: light stone countertop with a white tiled backsplash, for cookware, pots, pans, knives, "
    "kettles, blenders, coffee makers and small kitchen appliances.",
    "明亮厨房：浅色石材台面与白色瓷砖墙，适合锅具、刀具、水壶、料理机、咖啡机等厨房小家电和厨具。",
    [I],
    [3],
    ["#f3f2ef", "#d9d5cf"],
    "tabletop",
    {
        "wall": {"kind": "tiles", "color": "#e8e7e3", "grout": "#c4c0b9", "cols": 7, "rows": 14},
        "surface": {"kind": "marble", "base": "#dcd7cf", "vein": "#a39c92", "strength": 0.45},
        "window": 0.06,
    },
    light=150,
    soft=0.7,
)
_p(
    10013,
    "Bathroom vanity",
    "浴室洗手台",
    "Clean bathroom vanity with white tiles and soft light, for shampoo, body wash, toothbrush, skincare, "
    "towels and bathroom accessories.",
    "洁净的浴室洗手台，白色瓷砖与柔光，适合洗发水、沐浴露、牙刷、护肤品、毛巾与卫浴配件。",
    [I],
    [8, 3],
    ["#eef1f2", "#cfd8dc"],
    "tabletop",
    {
        "wall": {
            "kind": "tiles",
            "color": "#e2e8ea",
            "grout": "#b8c3c8",
            "cols": 12,
            "rows": 12,
            "bevel": False,
        },
        "surface": {"kind": "marble", "base": "#e9ebeb", "vein": "#9aa6ab", "strength": 0.4},
        "sheen": 0.08,
    },
    light=100,
    soft=0.85,
)
_p(
    10014,
    "Living room floor",
    "客厅木地板",
    "Living room with oak floor, white wall and window light, for furniture, sofa, chairs, lamps, plants, "
    "vacuum cleaners, fans and large home appliances.",
    "客厅橡木地板与白墙、窗光，适合家具、沙发、椅子、落地灯、绿植、吸尘器、风扇与大家电。",
    [I],
    [3, 1],
    ["#f0ede8", "#b98e63"],
    "room",
    {
        "wall": {"kind": "paint", "color": "#efebe6"},
        "floor": {"kind": "wood", "light": "#caa277", "dark": "#9c7048", "planks": 9, "along_x": False},
        "skirting": "#f7f6f3",
        "window": 0.14,
    },
    light=145,
    soft=0.6,
)
_p(
    10015,
    "Bedroom, beige carpet",
    "卧室米色地毯",
    "Calm bedroom corner with beige wall and soft carpet, for bedding, pillows, slippers, pajamas, "
    "home textiles and cozy clothing.",
    "安静的卧室一角，米色墙面与柔软地毯，适合床品、枕头、拖鞋、睡衣、家纺和舒适衣物。",
    [I],
    [3, 7],
    ["#e7ddd0", "#d3c4b0"],
    "room",
    {
        "wall": {"kind": "plaster", "color": "#e8dccd"},
        "floor": {"kind": "carpet", "color": "#d6c7b3"},
        "skirting": "#efe8df",
        "leaves": 0.12,
    },
    light=140,
    soft=0.8,
)
_p(
    10016,
    "Kids' playroom",
    "儿童房",
    "Cheerful kids' playroom with pastel wall, wooden floor and round rug, for toys, building blocks, "
    "plush toys, dolls, children's books and baby products.",
    "明快的儿童房，马卡龙色墙面、木地板与圆地毯，适合玩具、积木、毛绒玩具、娃娃、绘本与母婴用品。",
    [I],
    [10],
    ["#bfe0e6", "#f3d9a4", "#d6b48c"],
    "room",
    {
        "wall": {"kind": "panel", "color": "#c4e3e8", "slats": 18},
        "floor": {"kind": "wood", "light": "#e0c297", "dark": "#c09a6c", "planks": 10, "along_x": False},
        "skirting": "#ffffff",
        "rug": "#f3d6a2",
    },
    light=120,
    soft=0.85,
)
_p(
    10017,
    "Office desk by the window",
    "办公室窗边书桌",
    "Bright office desk with white laminate top and blurred window behind, for computers, monitors, "
    "printers, office supplies, phones and chargers.",
    "明亮办公室，白色桌面与虚化窗景，适合电脑、显示器、打印机、办公用品、手机和充电器。",
    [I],
    [5, 11, 2],
    ["#f2f3f4", "#cfd9d4"],
    "tabletop",
    {
        "wall": {"kind": "window", "color": "#d9dcdf", "x": (0.1, 0.9), "out0": "#9fb8a6", "out1": "#e8efe9"},
        "surface": {"kind": "plain", "color": "#e6e6e3", "grain": 0.01},
        "wall_blur": 0.01,
        "sheen": 0.06,
    },
    light=90,
    soft=0.85,
)
_p(
    10018,
    "Gaming desk, RGB glow",
    "电竞桌RGB灯光",
    "Dark gaming setup with RGB neon glow on the wall and a matte black desk, for gaming keyboards, mice, "
    "headsets, controllers, graphics cards and phones.",
    "暗色电竞桌面，墙面RGB霓虹灯光与哑光黑桌面，适合电竞键盘、鼠标、耳机、手柄、显卡和手机。",
    [I, A],
    [2, 5, 11],
    ["#141421", "#7a3cff", "#00d1ff"],
    "tabletop",
    {
        "wall": {"kind": "plaster", "color": "#1a1a28"},
        "surface": {"kind": "rubber", "color": "#19191f"},
        "neon": ["#9b4dff", "#00c8ff"],
        "vignette": 0.35,
    },
    light=90,
    soft=0.5,
)
_p(
    10019,
    "Garage floor",
    "车库地坪",
    "Garage with grey epoxy concrete floor and work light, for car parts, tires, car care products, "
    "jump starters, tool boxes and motorcycle accessories.",
    "车库灰色环氧地坪与工作灯光，适合汽车零件、轮胎、汽车养护用品、应急启动电源、工具箱与摩托车配件。",
    [I],
    [4, 9],
    ["#8d8f92", "#5f6368"],
    "room",
    {
        "wall": {"kind": "panel", "color": "#8f949a", "slats": 6},
        "floor": {"kind": "concrete", "color": "#8a8c8f"},
        "skirting": "#5b5f64",
        "falloff": 0.2,
        "sheen": 0.15,
    },
    light=80,
    soft=0.5,
)
_p(
    10020,
    "Workshop bench",
    "木工作台",
    "Plywood workbench in front of a pegboard wall, for hand tools, power tools, drills, screwdrivers, "
    "wrenches, measuring tape and hardware.",
    "洞洞板墙前的胶合板工作台，适合手动工具、电动工具、电钻、螺丝刀、扳手、卷尺和五金件。",
    [I],
    [9],
    ["#d8bc8e", "#c8c2b6"],
    "tabletop",
    {"wall": {"kind": "pegboard", "color": "#cbbf9f"}, "surface": {"kind": "plywood"}},
    light=120,
    soft=0.6,
)
_p(
    10021,
    "Gym floor",
    "健身房地面",
    "Gym with black rubber floor and dark wall, for dumbbells, kettlebells, yoga mats, fitness equipment, "
    "sports shoes and protein shakers.",
    "健身房黑色橡胶地面与深色墙面，适合哑铃、壶铃、瑜伽垫、健身器材、运动鞋和蛋白摇摇杯。",
    [I],
    [6],
    ["#26272b", "#4a4d52"],
    "room",
    {
        "wall": {"kind": "plaster", "color": "#45484d"},
        "floor": {"kind": "rubber"},
        "skirting": "#2c2e31",
        "falloff": 0.2,
        "sheen": 0.25,
        "vignette": 0.35,
    },
    light=70,
    soft=0.45,
)
_p(
    10022,
    "Boutique interior",
    "精品服装店",
    "Warm boutique interior with plaster wall and herringbone-like wood floor, for clothing, shoes, handbags, "
    "hats and fashion accessories.",
    "温暖的精品店内景，质感墙面与木地板，适合服装、鞋子、手提包、帽子与时尚配饰。",
    [I],
    [7],
    ["#e6d6c4", "#a97c57"],
    "room",
    {
        "wall": {"kind": "plaster", "color": "#e4d2be"},
        "floor": {"kind": "wood", "light": "#b98b62", "dark": "#8a5e3c", "planks": 12, "along_x": False},
        "skirting": "#efe4d6",
        "window": 0.1,
    },
    light=120,
    soft=0.7,
)
_p(
    10023,
    "Sage dressing room",
    "鼠尾草绿更衣室",
    "Sage green dressing room with slatted wall and light floor, for apparel, dresses, sneakers, bags, "
    "skincare and beauty products.",
    "鼠尾草绿更衣室，格栅墙面与浅色地板，适合服饰、连衣裙、运动鞋、包袋、护肤与美妆产品。",
    [I],
    [7, 8],
    ["#a9b8a0", "#e3d3bd"],
    "room",
    {
        "wall": {"kind": "panel", "color": "#a8b79f", "slats": 22},
        "floor": {"kind": "wood", "light": "#ead9c0", "dark": "#cdb291", "planks": 10, "along_x": False},
        "skirting": "#9fae96",
    },
    light=135,
    soft=0.8,
)
_p(
    10024,
    "Car interior, leather",
    "汽车内饰皮革",
    "Dark leather car interior with the blurred windshield glow, for phone car mounts, dash cams, car "
    "chargers, seat cushions, air fresheners and car accessories.",
    "深色皮革汽车内饰与虚化挡风玻璃光，适合车载手机支架、行车记录仪、车载充电器、座垫、香薰与汽车用品。",
    [I],
    [4, 11],
    ["#2a2624", "#6f7a86"],
    "tabletop",
    {
        "wall": {"kind": "window", "color": "#3a3f47", "x": (0.0, 1.0), "out0": "#6d7f8f", "out1": "#d8e2ea"},
        "surface": {"kind": "leather"},
        "horizon": 0.5,
        "wall_blur": 0.02,
        "falloff": 0.15,
    },
    light=90,
    soft=0.6,
)
_p(
    10025,
    "Tech blue gradient studio",
    "科技蓝渐变影棚",
    "Deep blue gradient studio with a glowing podium, futuristic tech look, for smartphones, earbuds, "
    "smart watches, routers, computer accessories.",
    "深蓝渐变影棚与发光展台，未来科技感，适合智能手机、蓝牙耳机、智能手表、路由器与电脑配件。",
    [I, A],
    [2, 11, 5],
    ["#0c1f4a", "#1f5fbf"],
    "sweep",
    {
        "color": "#163a80",
        "top": 0.55,
        "spot": 0.5,
        "rim": "#4fc3ff",
        "rim_strength": 0.25,
        "podium": {"top": 0.74, "r": 0.24, "h": 0.12, "color": "#1d4aa0"},
    },
    light=90,
    soft=0.6,
)

# ---------------------------------------------------------------- outdoor
_p(
    10031,
    "Sunny garden lawn",
    "阳光草坪花园",
    "Fresh green lawn in a sunny garden with blurred trees, for garden tools, planters, outdoor toys, "
    "picnic baskets, pet products and sports balls.",
    "阳光明媚的花园草坪，虚化树木背景，适合园艺工具、花盆、户外玩具、野餐篮、宠物用品和球类。",
    [O],
    [3, 10, 6],
    ["#6f9a3d", "#a9c9e4"],
    "outdoor",
    {"ground": {"kind": "grass"}, "far": "trees", "sun": "#fff3c4", "sky0": "#9cc3e6", "sky1": "#e7f0f2"},
    light=60,
    soft=0.35,
)
_p(
    10032,
    "Beach sand and sea",
    "海滩沙滩",
    "Sandy beach with turquoise sea and clear sky, summer vacation, for swimwear, sunglasses, sunscreen, "
    "sandals, beach towels, surfboards and water sports gear.",
    "金色沙滩与碧海蓝天，夏日度假，适合泳衣、太阳镜、防晒霜、凉鞋、沙滩巾、冲浪板与水上运动装备。",
    [O],
    [6, 7, 8],
    ["#e3cfa6", "#4ea3c9", "#bfe3f3"],
    "outdoor",
    {
        "ground": {"kind": "sand"},
        "far": "sea",
        "horizon": 0.5,
        "sun": "#fff6d6",
        "sky0": "#5aa7df",
        "sky1": "#d7eef8",
        "haze": "#f4ead6",
    },
    light=70,
    soft=0.25,
)
_p(
    10033,
    "Forest campsite",
    "森林营地",
    "Forest trail and campsite with soft dappled light, for camping gear, tents, backpacks, hiking boots, "
    "flashlights, knives, axes and outdoor tools.",
    "林间营地小路，斑驳柔光，适合露营装备、帐篷、背包、登山鞋、手电筒、户外刀具、斧头和户外工具。",
    [O],
    [6, 9],
    ["#4d5b33", "#8a7a5c"],
    "outdoor",
    {
        "ground": {"kind": "concrete", "color": "#8a7b60", "pits": True},
        "far": "trees",
        "far0": "#24381f",
        "far1": "#5f7d3c",
        "sky0": "#a8c0b0",
        "sky1": "#dfe6d8",
        "leaves": 0.25,
        "haze": "#c9cdb8",
    },
    light=110,
    soft=0.45,
)
_p(
    10034,
    "City street at dusk",
    "城市街道黄昏",
    "City street at dusk with warm bokeh lights and asphalt, urban lifestyle, for sneakers, streetwear, "
    "bags, phones, headphones and car accessories.",
    "黄昏城市街道，暖色散景灯光与柏油路面，都市生活感，适合运动鞋、潮流服饰、包袋、手机、耳机与汽车用品。",
    [O],
    [7, 4, 11],
    ["#3b4150", "#4a4a4c", "#ffcf87"],
    "outdoor",
    {
        "ground": {"kind": "asphalt"},
        "far": "city",
        "sky0": "#2b3a5c",
        "sky1": "#e7a675",
        "haze": "#6c6470",
        "far_blur": 0.01,
    },
    light=30,
    soft=0.5,
)
_p(
    10035,
    "Open road at sunset",
    "日落公路",
    "Open asphalt road at golden sunset with a lane line, for car accessories, car parts, motorcycle gear, "
    "helmets, dash cams and travel products.",
    "金色日落下的开阔公路与车道线，适合汽车用品、汽车零部件、摩托车装备、头盔、行车记录仪与出行用品。",
    [O],
    [4],
    ["#4a4a4c", "#f2a65a", "#6b5a7a"],
    "outdoor",
    {
        "ground": {"kind": "asphalt", "line": "#f2e6c8"},
        "far": "hills",
        "far0": "#5a4a63",
        "far1": "#8a6f7e",
        "sky0": "#f0a15a",
        "sky1": "#ffd9a0",
        "sun": "#ffc37a",
        "haze": "#e8b38a",
    },
    light=20,
    soft=0.3,
)
_p(
    10036,
    "Patio wooden deck",
    "露台木平台",
    "Outdoor patio with a wooden deck and greenery, for outdoor furniture, planters, garden decor, lanterns, "
    "barbecue grills and home goods.",
    "户外露台木平台与绿植，适合户外家具、花盆、花园装饰、灯笼、烧烤炉与家居用品。",
    [O],
    [3, 1],
    ["#a57c55", "#5e7d45"],
    "outdoor",
    {
        "ground": {"kind": "wood", "light": "#b68b60", "dark": "#7c5638", "planks": 10},
        "far": "trees",
        "sky0": "#b7d3e8",
        "sky1": "#eef3ee",
        "leaves": 0.15,
    },
    light=120,
    soft=0.5,
)
_p(
    10037,
    "Snowy winter",
    "冬日雪地",
    "Snowy winter landscape with soft overcast light, for down jackets, boots, gloves, scarves, ski gear "
    "and winter sports.",
    "冬季雪地，阴天柔光，适合羽绒服、雪地靴、手套、围巾、滑雪装备和冬季运动用品。",
    [O, A],
    [7, 6],
    ["#eef2f8", "#b9c7dc"],
    "outdoor",
    {
        "ground": {"kind": "snow"},
        "far": "hills",
        "far0": "#9fb0c6",
        "far1": "#dfe7f1",
        "sky0": "#c8d6e6",
        "sky1": "#f2f5f9",
        "haze": "#f0f4f9",
        "haze_strength": 0.5,
    },
    light=100,
    soft=0.9,
)
_p(
    10038,
    "Stone plaza",
    "石板广场",
    "Sunlit stone paving plaza with blurred city trees, for shoes, handbags, umbrellas, phones, suitcases "
    "and general products.",
    "阳光下的石板广场与虚化街树，适合鞋子、手提包、雨伞、手机、行李箱和通用商品。",
    [O],
    [7, 1, 11],
    ["#b8b1a5", "#7d776e"],
    "outdoor",
    {
        "ground": {"kind": "paving"},
        "far": "trees",
        "far0": "#4d5e45",
        "far1": "#a4b28a",
        "sky0": "#a9c8e0",
        "sky1": "#eef2f2",
    },
    light=50,
    soft=0.35,
)
_p(
    10039,
    "Park playground",
    "公园游乐场",
    "Sunny park with soft grass and colourful blurred playground, for kids' toys, balls, bicycles, scooters, "
    "kites and outdoor play.",
    "阳光公园，柔软草地与彩色虚化游乐场，适合儿童玩具、皮球、自行车、滑板车、风筝与户外游戏。",
    [O],
    [10],
    ["#86b04a", "#f2c14e", "#e4573d"],
    "outdoor",
    {
        "ground": {"kind": "grass", "dark": "#5a8c34", "light": "#a3cc5c"},
        "far": "trees",
        "far0": "#e4573d",
        "far1": "#f2c14e",
        "sky0": "#8ec9f0",
        "sky1": "#f3f7f2",
    },
    light=70,
    soft=0.4,
)
_p(
    10040,
    "Café terrace table",
    "咖啡馆露天桌",
    "Wooden table on a café terrace with warm street bokeh, for coffee cups, laptops, books, phones, "
    "earbuds, sunglasses and lifestyle items.",
    "咖啡馆露台木桌，暖色街景虚化，适合咖啡杯、笔记本电脑、书本、手机、耳机、墨镜与生活好物。",
    [O],
    [5, 11, 1],
    ["#9c7350", "#d9b27c", "#5b4a3d"],
    "outdoor",
    {
        "ground": {"kind": "paving", "color": "#a8a094"},
        "far": "city",
        "far0": "#5b4a3d",
        "spark": "#ffd59a",
        "sky0": "#c9a67c",
        "sky1": "#f0dcc0",
        "ground_top": {
            "y": 0.62,
            "surface": {"kind": "wood", "light": "#b5875a", "dark": "#7a5232", "planks": 5},
        },
    },
    light=40,
    soft=0.55,
    geometry=(0.8, (0.22, 0.26, 0.78, 0.8)),
)
_p(
    10041,
    "Running track",
    "田径跑道",
    "Red running track in a stadium under daylight, for running shoes, sportswear, fitness trackers, "
    "water bottles and athletic gear.",
    "日光下体育场的红色跑道，适合跑鞋、运动服、运动手环、运动水壶与田径装备。",
    [O],
    [6],
    ["#b4553f", "#a7c7e0"],
    "outdoor",
    {
        "ground": {"kind": "concrete", "color": "#b0533d", "pits": False},
        "far": "hills",
        "far0": "#4c6b3a",
        "far1": "#8bae6a",
        "sky0": "#7fb2de",
        "sky1": "#e9f1f5",
    },
    light=75,
    soft=0.3,
)
_p(
    10042,
    "Mountain rock",
    "山顶岩石",
    "Granite rock on a mountain top with sky and distant ridges, adventure mood, for action cameras, "
    "hiking gear, outdoor watches, flashlights and tools.",
    "山顶花岗岩与远山天空，探险氛围，适合运动相机、登山装备、户外手表、手电筒和工具。",
    [O],
    [6, 9, 2],
    ["#8e8a84", "#9dbad6"],
    "outdoor",
    {
        "ground": {"kind": "concrete", "color": "#8c8880"},
        "far": "hills",
        "far0": "#6d7f96",
        "far1": "#b2c3d6",
        "sky0": "#6fa3d6",
        "sky1": "#e3eef6",
        "horizon": 0.5,
    },
    light=45,
    soft=0.25,
)

# ---------------------------------------------------------------- atmosphere
_p(
    10051,
    "Warm golden bokeh",
    "暖金色光斑",
    "Warm golden bokeh lights over a glossy surface, elegant evening mood, for gifts, cosmetics, perfume, "
    "candles, jewelry and home decor.",
    "暖金色散景光斑与光泽台面，优雅夜晚氛围，适合礼品、化妆品、香水、蜡烛、首饰和家居装饰。",
    [A],
    [1, 8, 3],
    ["#3b2a1a", "#d9a64e"],
    "atmosphere",
    {
        "base": "#4a341f",
        "colors": ["#ffd27a", "#ffb45c", "#fff0c2"],
        "surface": {"kind": "marble", "base": "#3a2c20", "vein": "#8d6b45", "strength": 0.4},
        "gloss": 0.35,
    },
    light=100,
    soft=0.6,
)
_p(
    10052,
    "Neon night",
    "霓虹夜色",
    "Cyberpunk neon night with pink and cyan lights and a reflective floor, for gaming gear, electronics, "
    "phones, headphones, figures and collectibles.",
    "赛博朋克霓虹夜景，粉色与青色灯光及反光地面，适合电竞装备、数码产品、手机、耳机、手办与收藏品。",
    [A],
    [2, 11, 10],
    ["#120c24", "#ff3da6", "#22d3ee"],
    "atmosphere",
    {
        "base": "#1a1036",
        "colors": ["#ff3da6", "#22d3ee", "#8b5cf6"],
        "surface": {"kind": "plain", "color": "#15102a"},
        "gloss": 0.6,
    },
    light=90,
    soft=0.5,
)
_p(
    10053,
    "Christmas lights",
    "圣诞节灯光",
    "Christmas mood with red and green bokeh, gold lights and snow, for holiday gifts, toys, decorations, "
    "sweaters and festive home goods.",
    "圣诞节氛围，红绿光斑、金色灯串与飘雪，适合节日礼物、玩具、装饰品、毛衣与节庆家居。",
    [A, P],
    [10, 1, 3],
    ["#7a1a1a", "#1f5a3a", "#e8c26e"],
    "atmosphere",
    {
        "base": "#5c1414",
        "colors": ["#e8c26e", "#d93636", "#2f8f5b", "#fff1c1"],
        "snow": True,
        "surface": {"kind": "wood", "light": "#8a5a3a", "dark": "#4d2f1e", "planks": 4},
    },
    light=110,
    soft=0.6,
)
_p(
    10054,
    "Chinese New Year red and gold",
    "新春红金",
    "Chinese New Year: festive red with gold bokeh and a red podium, lucky and celebratory, for gift boxes, "
    "snacks, liquor, cosmetics gift sets and home decor.",
    "新春佳节：中国红与金色光斑、红色展台，喜庆吉祥，适合年货礼盒、零食、酒水、美妆礼盒与家居装饰。",
    [A, P],
    [1, 3, 8],
    ["#a3141c", "#e8b74a"],
    "atmosphere",
    {
        "base": "#9c1119",
        "colors": ["#ffd36b", "#ffb13b", "#ff6b4a"],
        "podium": {"top": 0.76, "r": 0.25, "h": 0.14, "color": "#d63a2f", "trim": "#e9b949"},
    },
    light=100,
    soft=0.7,
    text_box=(0.1, 0.04, 0.9, 0.24),
)
_p(
    10055,
    "Valentine's pink hearts",
    "情人节粉色爱心",
    "Romantic Valentine's Day with pink hearts and soft bokeh, for gifts, jewelry, perfume, lipstick, "
    "lingerie, flowers and plush toys.",
    "浪漫情人节，粉色爱心与柔和光斑，适合礼物、首饰、香水、口红、内衣、鲜花与毛绒玩具。",
    [A],
    [8, 7, 1],
    ["#f4b6c2", "#e56b8a"],
    "atmosphere",
    {
        "base": "#f2b8c6",
        "colors": ["#ffffff", "#ffd1dc"],
        "hearts": ["#e0456f", "#ff8fab", "#ffffff"],
        "surface": {"kind": "plain", "color": "#f6c9d3"},
        "gloss": 0.15,
    },
    light=120,
    soft=0.85,
)
_p(
    10056,
    "Aqua water caustics",
    "清透水波光",
    "Fresh aqua background with water caustic light, clean and hydrating, for skincare, serum, toner, "
    "water bottles, swimwear and spa products.",
    "清透水蓝背景与水波光纹，清爽补水感，适合护肤品、精华、爽肤水、水杯、泳装和水疗产品。",
    [A],
    [8],
    ["#7fd3e0", "#d8f4f7"],
    "atmosphere",
    {"style": "caustics", "base": "#86d2df", "surface": {"kind": "plain", "color": "#bfe9ef"}, "gloss": 0.3},
    light=90,
    soft=0.5,
)
_p(
    10057,
    "Starry night and aurora",
    "星空极光",
    "Night sky with stars and a green aurora over a dark ground, for cameras, telescopes, outdoor lights, "
    "power banks, smartwatches and camping gear.",
    "繁星夜空与绿色极光，适合相机、望远镜、户外灯具、充电宝、智能手表与露营装备。",
    [A],
    [2, 6, 11],
    ["#0b1230", "#3fe0a8"],
    "atmosphere",
    {
        "style": "stars",
        "sky0": "#050a1f",
        "sky1": "#1b2a55",
        "surface": {"kind": "concrete", "color": "#2a2c33"},
    },
    light=90,
    soft=0.6,
)
_p(
    10058,
    "Morning window shadows",
    "晨光窗影",
    "Soft morning sunlight through a window with leaf shadows on a cream wall and table, for skincare, "
    "candles, vases, books, mugs and home decor.",
    "清晨阳光透过窗户，奶油色墙面与桌面上的树叶光影，适合护肤品、香薰蜡烛、花瓶、书本、马克杯与家居摆件。",
    [A, I],
    [8, 3, 1],
    ["#efe3d0", "#d8c3a5"],
    "tabletop",
    {
        "wall": {"kind": "plaster", "color": "#f0e3cf"},
        "surface": {"kind": "plain", "color": "#ead9c1"},
        "leaves": 0.3,
        "window": 0.2,
    },
    light=150,
    soft=0.4,
)
_p(
    10059,
    "Halloween night",
    "万圣节之夜",
    "Spooky Halloween with orange and purple bokeh, for costumes, toys, candy, party decorations and "
    "seasonal gifts.",
    "万圣节之夜，橙色与紫色光斑，适合万圣节服装、玩具、糖果、派对装饰与节日礼品。",
    [A, P],
    [10, 1],
    ["#1d1030", "#ff7a1a", "#7b3fa0"],
    "atmosphere",
    {
        "base": "#2a1740",
        "colors": ["#ff7a1a", "#ffb347", "#9b59d0"],
        "surface": {"kind": "wood", "light": "#4a3328", "dark": "#24170f", "planks": 3},
    },
    light=80,
    soft=0.5,
)
_p(
    10060,
    "Speed lines",
    "速度光线",
    "Dark background with red speed light trails, fast and powerful, for car accessories, racing gear, "
    "sports shoes, helmets and performance parts.",
    "深色背景与红色速度光轨，动感有力，适合汽车用品、赛车装备、运动鞋、头盔与性能改装件。",
    [A],
    [4, 6],
    ["#111214", "#ff3b30"],
    "atmosphere",
    {
        "style": "speed",
        "base": "#17181b",
        "colors": ["#ff3b30", "#ff9f0a", "#ffffff"],
        "surface": {"kind": "asphalt", "color": "#2a2a2c"},
        "gloss": 0.25,
    },
    light=160,
    soft=0.4,
)
_p(
    10061,
    "Vintage warm paper",
    "复古暖调",
    "Vintage warm paper backdrop with film grain, nostalgic and calm, for retro clothing, leather goods, "
    "cameras, vinyl records, model kits and handmade items.",
    "复古暖调纸质背景与胶片颗粒，怀旧宁静，适合复古服饰、皮具、相机、黑胶唱片、模型与手工制品。",
    [A, I],
    [7, 10, 1],
    ["#d8c09a", "#a88560"],
    "sweep",
    {"color": "#d4b98f", "top": 0.8, "vignette": 0.45, "grain": 0.025, "falloff": 0.18},
    light=150,
    soft=0.6,
)
_p(
    10062,
    "Minimal pastel geometry",
    "极简几何",
    "Minimal set with pastel arches and a round podium, modern and calm, for skincare, phones, earbuds, "
    "smart home devices and stationery.",
    "极简马卡龙色拱门与圆形展台，现代宁静，适合护肤品、手机、耳机、智能家居设备和文具。",
    [A],
    [8, 11, 5],
    ["#dfe7ef", "#c6d4e3", "#f2d7c9"],
    "sweep",
    {
        "color": "#e3eaf1",
        "shapes": [
            {"kind": "arch", "x": 0.36, "w": 0.36, "top": 0.1, "bottom": 0.7, "color": "#c9d7e6"},
            {"kind": "circle", "x": 0.7, "y": 0.3, "r": 0.12, "color": "#f2d7c9"},
        ],
        "podium": {"top": 0.74, "r": 0.22, "h": 0.1, "color": "#f3f1ee"},
    },
    light=135,
    soft=0.8,
)
_p(
    10063,
    "Workshop sparks",
    "工坊火花",
    "Dark industrial workshop with flying orange sparks and smoky light, powerful and rugged, for power "
    "tools, grinders, welding gear, drills and car repair tools.",
    "暗色工业车间与飞溅的橙色火花，硬朗有力，适合电动工具、角磨机、焊接设备、电钻与汽修工具。",
    [A],
    [9, 4],
    ["#17130f", "#ff8a1f"],
    "atmosphere",
    {
        "style": "sparks",
        "base": "#231a12",
        "colors": ["#ff8a1f", "#ffb85c"],
        "surface": {"kind": "concrete", "color": "#3a3632"},
        "gloss": 0.15,
    },
    light=60,
    soft=0.4,
)

# ---------------------------------------------------------------- promotion (free space at the top for a headline)
_TB = (0.08, 0.04, 0.92, 0.26)
_p(
    10071,
    "Big sale red burst",
    "大促红色爆炸",
    "Shopping festival big sale: red sunburst, gold confetti and a podium, for any discounted product, "
    "electronics, phones, flash deals and Double 11.",
    "购物节大促：红色放射光芒、金色彩纸与展台，适合各类折扣商品、数码、手机、秒杀与双十一活动。",
    [P],
    [1, 2, 11],
    ["#d7192a", "#ff5a3c", "#ffd34d"],
    "promo",
    {
        "style": "rays",
        "colors": ["#d7192a", "#ff5a3c"],
        "confetti": ["#ffd34d", "#fff3c4", "#ff9a3c"],
        "podium": {"top": 0.78, "r": 0.25, "h": 0.12, "color": "#f5c542"},
    },
    light=100,
    soft=0.7,
    text_box=_TB,
)
_p(
    10072,
    "Flash sale yellow and black",
    "黄黑闪购",
    "Bold yellow and black flash sale layout, for tools, hardware, car accessories, power banks and "
    "limited-time deals.",
    "醒目的黄黑撞色限时闪购版式，适合工具、五金、汽车用品、充电宝与限时特惠。",
    [P],
    [9, 4, 2],
    ["#ffd400", "#1b1b1b"],
    "promo",
    {
        "style": "split",
        "colors": ["#ffd400", "#1e1e1e"],
        "confetti": ["#1e1e1e", "#ffffff"],
        "floor": "#2a2a2a",
        "podium": {"top": 0.78, "r": 0.25, "h": 0.12, "color": "#f2f2f2"},
    },
    light=110,
    soft=0.6,
    text_box=_TB,
)
_p(
    10073,
    "Tech promo blue podium",
    "科技蓝促销展台",
    "Blue tech promotion with a glowing podium and light rays, for new product launches, smartphones, "
    "earbuds, laptops, smart watches and gadgets.",
    "蓝色科技促销，发光展台与光线，适合新品发布、智能手机、耳机、笔记本电脑、智能手表和数码小物。",
    [P],
    [2, 11, 5],
    ["#0f3d91", "#2f80ed", "#9fd3ff"],
    "promo",
    {
        "style": "rays",
        "rays": 24,
        "colors": ["#0f3d91", "#2f80ed"],
        "confetti": ["#9fd3ff", "#ffffff"],
        "podium": {"top": 0.78, "r": 0.26, "h": 0.12, "color": "#d9ecff", "second": "#5aa9ff"},
    },
    light=90,
    soft=0.6,
    text_box=_TB,
)
_p(
    10074,
    "Beauty promo pink podium",
    "美妆粉色促销展台",
    "Pink beauty promotion with arches and podiums, for skincare, cosmetics, perfume, lipstick sets, "
    "women's fashion and gift sales.",
    "粉色美妆促销，拱门与展台，适合护肤品、彩妆、香水、口红套装、女装与礼盒促销。",
    [P],
    [8, 7],
    ["#f6c6cf", "#e98aa0", "#fff0f3"],
    "promo",
    {
        "style": "arches",
        "colors": ["#f7cbd3", "#ef9fb1", "#fff0f3"],
        "confetti": ["#ffffff", "#e98aa0"],
        "podium": {"top": 0.8, "r": 0.24, "h": 0.12, "color": "#fff2f4", "second": "#f3a9b9"},
    },
    light=130,
    soft=0.8,
    text_box=_TB,
)
_p(
    10075,
    "Fresh green promo",
    "清新绿色促销",
    "Fresh green promotion with leaves of light and a wooden podium, spring sale, for home and garden, "
    "kitchen, plants, eco products and healthy food.",
    "清新绿色促销，春季上新，木质展台，适合家居园艺、厨房用品、绿植、环保产品与健康食品。",
    [P],
    [3, 1],
    ["#cfe8c4", "#5fa35a", "#c9a27a"],
    "promo",
    {
        "style": "arches",
        "colors": ["#d7edcc", "#9fcf8f", "#f7f3d6"],
        "confetti": ["#5fa35a", "#ffffff"],
        "podium": {"top": 0.8, "r": 0.25, "h": 0.12, "color": "#d2aa7c"},
    },
    light=140,
    soft=0.8,
    text_box=_TB,
)
_p(
    10076,
    "Black Friday black and gold",
    "黑五黑金",
    "Black Friday premium sale in black and gold with a gold podium, for fashion, electronics, watches "
    "and luxury deals.",
    "黑色星期五黑金高端促销与金色展台，适合时尚服饰、数码产品、手表与轻奢特惠。",
    [P],
    [7, 2, 1],
    ["#111111", "#c9a35b"],
    "promo",
    {
        "style": "gradient",
        "colors": ["#2b2b2b", "#0b0b0b"],
        "confetti": ["#c9a35b", "#f1d58f"],
        "floor": "#1a1a1a",
        "podium": {"top": 0.78, "r": 0.25, "h": 0.12, "color": "#c9a35b"},
    },
    light=95,
    soft=0.5,
    text_box=_TB,
)
_p(
    10077,
    "Kids' day confetti",
    "儿童节彩纸",
    "Colourful children's day party with confetti and a bright podium, for toys, games, building blocks, "
    "kids' clothing and school supplies.",
    "缤纷儿童节派对，彩色纸屑与明亮展台，适合玩具、游戏、积木、童装和学习用品。",
    [P],
    [10],
    ["#5ec8f2", "#ffd23f", "#ee4266"],
    "promo",
    {
        "style": "rays",
        "rays": 12,
        "colors": ["#5ec8f2", "#8fdcf7"],
        "confetti": ["#ffd23f", "#ee4266", "#3bceac", "#ffffff"],
        "confetti_n": 140,
        "podium": {"top": 0.8, "r": 0.25, "h": 0.12, "color": "#ffd23f"},
    },
    light=110,
    soft=0.8,
    text_box=_TB,
)
_p(
    10078,
    "Sports energy promo",
    "运动能量促销",
    "Energetic sports promotion with orange diagonal blocks, for running shoes, sportswear, fitness gear, "
    "balls and outdoor equipment.",
    "活力运动促销，橙色斜切色块，适合跑鞋、运动服、健身器材、球类与户外装备。",
    [P],
    [6, 7],
    ["#ff6a13", "#1f2a44"],
    "promo",
    {
        "style": "split",
        "colors": ["#ff6a13", "#1f2a44"],
        "confetti": ["#ffffff", "#ffb703"],
        "floor": "#1f2a44",
        "podium": {"top": 0.8, "r": 0.25, "h": 0.12, "color": "#e9edf2"},
    },
    light=60,
    soft=0.5,
    text_box=_TB,
)
_p(
    10079,
    "Back to school",
    "开学季",
    "Back-to-school sale with notebook blue and yellow, for stationery, backpacks, pens, laptops, desk lamps "
    "and kids' learning toys.",
    "开学季促销，书本蓝与明黄色，适合文具、书包、笔、笔记本电脑、台灯与儿童学习玩具。",
    [P],
    [5, 10],
    ["#2d6cdf", "#ffd54a"],
    "promo",
    {
        "style": "gradient",
        "colors": ["#3a7be8", "#1f4fa8"],
        "confetti": ["#ffd54a", "#ffffff", "#ff7a59"],
        "podium": {"top": 0.79, "r": 0.25, "h": 0.12, "color": "#ffd54a"},
    },
    light=120,
    soft=0.7,
    text_box=_TB,
)
_p(
    10080,
    "Auto parts promo",
    "汽配促销",
    "Car parts promotion in carbon black and racing red, for car accessories, tires, engine oil, car care, "
    "tools and motorcycle parts.",
    "汽配促销，碳黑与赛车红，适合汽车用品、轮胎、机油、汽车养护、工具与摩托车配件。",
    [P],
    [4, 9],
    ["#1a1a1a", "#d62828"],
    "promo",
    {
        "style": "split",
        "colors": ["#d62828", "#1a1a1a"],
        "confetti": ["#ffffff", "#9a9a9a"],
        "floor": "#202020",
        "podium": {"top": 0.78, "r": 0.26, "h": 0.12, "color": "#3a3a3a"},
    },
    light=100,
    soft=0.5,
    text_box=_TB,
)

PRESETS: tuple[ScenePreset, ...] = tuple(_PRESETS)
BY_NUM: dict[str, ScenePreset] = {p.model_num: p for p in PRESETS}

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
