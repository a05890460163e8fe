"""Product categories from ImageNet class probabilities, for the two category lists Vitrine uses: search by
picture predicts and votes categories (`search/engine.py`), scene recommendation scores them
(`scenes.py` via `processing/scene_library.py`). No Django here.

1. The seed's image-search categories (SearchImageByPic `CategoryId`, `AllCategories`):
   0 Tops, 1 Dress, 2 Bottoms, 3 Bag, 4 Shoes, 5 Accessories, 6 Snack, 7 Makeup, 8 Bottle, 9 Furniture,
   20 Toy, 21 Underwear, 22 Digital device, 88888888 Other.
2. Vitrine's 11 catalog categories: 1 General Purpose, 2 Consumer Electronics, 3 Home & Garden,
   4 Automobiles, Parts & Accessories, 5 Computer & Office, 6 Sports & Entertainment, 7 Clothing,
   8 Beauty & Health, 9 Tools, 10 Toys & Hobbies, 11 Phones & Telecommunications.

Mapping: each ImageNet-1k class (index into `embedding.imagenet_labels()`) belongs to at most one
category of each list; the tables below list them (ImageNet names in comments where not obvious). Classes
in no table (animals, plants, scenes, most food for the catalog list) fall to the catch-all: Other
(88888888) and General Purpose (1). A category's score is the summed probability of its classes; the
catch-all gets the rest. In short:

- Tops: cardigan, jersey/T-shirt, sweatshirt, suit, coats, kimono, abaya, cloak, uniform, apron, vest.
  Dress: gown, hoop skirt, overskirt. Bottoms: jeans, miniskirt, sarong, swim trunks.
  Bag: backpack, purse, wallet, mailbag, plastic bag. Shoes: clog, boots, loafer, running shoe, sandal.
  Accessories: ties, necklace, sunglasses, hats, bonnet, mitten, stole, boa, hair clip, buckle, watch,
  umbrella, wig, caps. Snack: ImageNet's food, fruit and vegetable classes (924-969 less tableware, corn).
  Makeup: face powder, lipstick, lotion, perfume, hair spray, sunscreen. Bottle: beer/pop/water/wine/pill
  bottles, jugs, milk can, baby bottle, soap dispenser. Furniture: cabinets, chairs, tables, beds, desk,
  bookcase, couch, wardrobe, bench, throne, cradle. Toy: teddy bear, jigsaw, pinwheel, balloon, piggy bank,
  toy shop. Underwear: bra, swimsuits, bikini, pyjamas, diaper, sock. Digital device: phones, computers,
  monitors, TV, cameras, audio players, remote, keyboard, mouse, printer, projector, joystick, modem.
- Catalog: Consumer Electronics = audio/video/camera devices, clocks and watches with displays, fans;
  Home & Garden = kitchenware, tableware, furniture, bedding, lamps, appliances, garden items;
  Automobiles = cars and trucks, car parts (wheel, mirror, grille, seat belt, oil filter, brake);
  Computer & Office = computers, keyboards, printers, pens, binders, envelopes, desks' stationery;
  Sports & Entertainment = balls, gym gear, bikes, boats, tents, musical instruments;
  Clothing = the apparel, bag and shoe classes above; Beauty & Health = cosmetics, medical items;
  Tools = hand and power tools, hardware, locks, measuring instruments; Toys & Hobbies = toys, models of
  aircraft/trains/ships, costumes; Phones & Telecommunications = mobile, dial and pay phones.

The network sees product photos, often renders, so its class guesses are noisy: when the catalog already
has close matches, `vote_category` over the matched products' own categories is the better signal, and the
engine uses that first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

ALIYUN_OTHER = 88888888
ALIYUN_CATEGORIES: dict[int, str] = {
    0: "Tops",
    1: "Dress",
    2: "Bottoms",
    3: "Bag",
    4: "Shoes",
    5: "Accessories",
    6: "Snack",
    7: "Makeup",
    8: "Bottle",
    9: "Furniture",
    20: "Toy",
    21: "Underwear",
    22: "Digital device",
    ALIYUN_OTHER: "Other",
}

CATALOG_GENERAL = 1
CATALOG_CATEGORIES: dict[int, str] = {
    1: "General Purpose",
    2: "Consumer Electronics",
    3: "Home & Garden",
    4: "Automobiles, Parts & Accessories",
    5: "Computer & Office",
    6: "Sports & Entertainment",
    7: "Clothing",
    8: "Beauty & Health",
    9: "Tools",
    10: "Toys & Hobbies",
    11: "Phones & Telecommunications",
}
# slugs used by the dev data manifests and, presumably, the catalog app
CATALOG_SLUGS: dict[str, int] = {
    "general": 1,
    "electronics": 2,
    "home": 3,
    "auto": 4,
    "office": 5,
    "sports": 6,
    "clothing": 7,
    "beauty": 8,
    "tools": 9,
    "toys": 10,
    "phones": 11,
}

_TOPS = [399, 400, 411, 465, 474, 501, 568, 610, 614, 617, 652, 735, 834, 841, 869, 887]
_DRESS = [578, 601, 689]
_BOTTOMS = [608, 655, 775, 842]
_BAG = [414, 636, 728, 748, 893]
_SHOES = [502, 514, 630, 770, 774]
_ACCESSORIES = [433, 451, 452, 457, 464, 515, 531, 552, 584, 591, 658, 667, 679, 793, 796, 808, 824, 836, 837]
_ACCESSORIES += [879, 903, 906]
_SNACK = [n for n in range(924, 967) if n not in (926, 960)] + [987]
_MAKEUP = [551, 585, 629, 631, 711, 838]
_BOTTLE = [440, 653, 680, 720, 737, 804, 898, 899, 901, 907]
_FURNITURE = [423, 431, 453, 492, 493, 495, 516, 520, 526, 532, 548, 553, 559, 564, 648, 703, 729, 765, 831]
_FURNITURE += [857, 894]
_TOY = [417, 611, 719, 723, 850, 865]
_UNDERWEAR = [445, 459, 529, 638, 639, 697, 806]
_DIGITAL = [482, 485, 487, 508, 527, 528, 530, 590, 592, 598, 605, 613, 620, 622, 632, 650, 662, 664, 673]
_DIGITAL += [688, 732, 742, 745, 754, 759, 761, 782, 810, 848, 851, 878]

ALIYUN_TABLE: dict[int, list[int]] = {
    0: _TOPS,
    1: _DRESS,
    2: _BOTTOMS,
    3: _BAG,
    4: _SHOES,
    5: _ACCESSORIES,
    6: _SNACK,
    7: _MAKEUP,
    8: _BOTTLE,
    9: _FURNITURE,
    20: _TOY,
    21: _UNDERWEAR,
    22: _DIGITAL,
}

CATALOG_TABLE: dict[int, list[int]] = {
    # Consumer Electronics: cassette(-player), CD player, home theatre, iPod, loudspeaker, microphone,
    # cameras, radio, remote, tape player, TV, digital clock/watch, lens cap, binoculars, fan, oscilloscope,
    # joystick, projector, screen, entertainment centre, switch, spotlight, hand blower
    2: [481, 482, 485, 598, 605, 613, 622, 632, 650, 688, 732, 745, 754, 759, 761, 782, 818, 844, 848, 851]
    + [447, 530, 531, 545, 548, 589],
    # Home & Garden
    3: [412, 423, 427, 431, 434, 435, 441, 448, 453, 463, 469, 470, 473, 492, 493, 495, 503, 504, 505, 512]
    + [516, 520, 521, 532, 533, 534, 539, 544, 550, 556, 559, 562, 564, 567, 572, 580, 588, 604, 606, 618]
    + [619, 626, 637, 644, 647, 651, 659, 666, 669, 700, 703, 706, 716, 721, 725, 729, 731, 738, 741, 750]
    + [753, 756, 760, 765, 766, 773, 786, 789, 794, 799, 809, 811, 813, 827, 828, 831, 846, 849, 857, 859]
    + [861, 868, 876, 882, 883, 891, 892, 894, 896, 897, 899, 901, 904, 905, 909, 910, 912, 923, 968, 409]
    + [462, 494, 499, 440, 737, 907],
    # Automobiles, Parts & Accessories
    4: [407, 436, 468, 475, 479, 511, 535, 555, 561, 569, 571, 573, 575, 581, 586, 609, 627, 654, 656, 661]
    + [665, 670, 675, 685, 686, 705, 717, 734, 751, 757, 779, 785, 802, 803, 817, 847, 864, 866, 867, 874]
    + [518, 829],
    # Computer & Office
    5: [398, 418, 446, 508, 526, 527, 549, 553, 563, 590, 592, 620, 623, 662, 664, 673, 681, 709, 710, 713]
    + [742, 749, 767, 798, 810, 878, 916, 917, 918, 921, 922],
    # Sports & Entertainment: balls, gym, bikes, boats, tents, instruments, fishing reel, pool table
    6: [416, 422, 429, 430, 444, 450, 472, 522, 543, 560, 574, 602, 615, 671, 672, 693, 702, 722, 736, 746]
    + [747, 752, 758, 768, 781, 795, 797, 801, 805, 814, 826, 852, 880, 890, 401, 402, 420, 432, 486, 494]
    + [513, 541, 542, 546, 558, 566, 577, 579, 593, 594, 641, 642, 683, 684, 687, 699, 776, 822, 875, 881]
    + [889, 902],
    # Clothing (apparel, bags, shoes, wearable accessories)
    7: _TOPS
    + _DRESS
    + _BOTTOMS
    + _BAG
    + _SHOES
    + _UNDERWEAR
    + [451, 452, 457, 464, 496, 515, 552, 591, 658]
    + [667, 679, 793, 796, 808, 824, 836, 837, 906],
    # Beauty & Health
    8: [419, 523, 570, 584, 643, 648, 678, 691, 720, 804, 823, 830, 840, 845, 903, 999] + _MAKEUP,
    # Tools
    9: [426, 477, 488, 491, 507, 587, 596, 600, 621, 633, 635, 677, 695, 696, 714, 726, 730, 740, 769, 772]
    + [778, 783, 784, 792, 855, 862, 872],
    # Toys & Hobbies: toys, costumes, models of aircraft / trains / ships, carousel, swing, slot machine
    10: _TOY + [404, 405, 476, 547, 565, 607, 657, 812, 820, 843, 870, 895, 800],
    # Phones & Telecommunications
    11: [487, 528, 707],
}


def _dense(table: Mapping[int, list[int]], catch_all: int) -> tuple[np.ndarray, list[int]]:
    """(n_categories, 1000) 0/1 matrix; a class listed under two categories counts for the first only."""
    ids = list(table) + [catch_all]
    mat = np.zeros((len(ids), 1000), np.float32)
    taken = np.zeros(1000, bool)
    for r, cid in enumerate(ids[:-1]):
        for cls in table[cid]:
            if not taken[cls]:
                mat[r, cls] = 1.0
                taken[cls] = True
    mat[-1, ~taken] = 1.0
    return mat, ids


_ALIYUN_MAT, _ALIYUN_IDS = _dense(ALIYUN_TABLE, ALIYUN_OTHER)
_CATALOG_MAT, _CATALOG_IDS = _dense(CATALOG_TABLE, CATALOG_GENERAL)


def category_scores(probs: np.ndarray, kind: str = "catalog") -> dict[int, float]:
    mat, ids = (_CATALOG_MAT, _CATALOG_IDS) if kind == "catalog" else (_ALIYUN_MAT, _ALIYUN_IDS)
    scores = mat @ np.asarray(probs, np.float32)
    return {cid: float(s) for cid, s in zip(ids, scores, strict=True)}


def predict_category(probs: np.ndarray, kind: str = "catalog", min_share: float = 0.0) -> int:
    """Best category id from ImageNet probabilities; `kind` is "catalog" or "aliyun".

    The catch-all holds the mass of every unmapped class, so it is compared at a discount: a product
    category wins when it gathers at least half as much probability as everything unmapped."""
    scores = category_scores(probs, kind)
    catch_all = CATALOG_GENERAL if kind == "catalog" else ALIYUN_OTHER
    specific = {c: s for c, s in scores.items() if c != catch_all}
    best = max(specific, key=specific.__getitem__)
    if specific[best] >= max(min_share, 0.5 * scores[catch_all]):
        return best
    return catch_all


def vote_category(neighbours: Iterable[tuple[int, float]], min_score: float = 0.5) -> int | None:
    """Category from matched catalog items: (category_id, score) pairs, score-weighted; None if no match
    is confident enough."""
    weights: dict[int, float] = {}
    for cid, score in neighbours:
        if score >= min_score:
            weights[cid] = weights.get(cid, 0.0) + score
    return max(weights, key=weights.__getitem__) if weights else None
