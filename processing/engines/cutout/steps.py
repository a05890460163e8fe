"""The switches of the cut-out's optional steps, in one dict that every step reads at call time.

Its own module because both the pipeline (pipeline.py) and the subject split (subject.py) read it,
and bench/cutout.py --ablate and the tests flip its entries in place.
"""

# Steps can be switched off to measure what each one pays for (bench/cutout.py --ablate).
STEPS = {
    "refine_pass": True,
    "second_look": True,
    "split_fused": True,
    "colour_split": True,
    "cut_clutter": True,
    "fuse_passes": True,
    "clear_holes": True,
    "edges": True,
}
