"""Background removal ("cut-out") engine: pure image code, no Django.

Takes decoded sRGB images (numpy arrays or Pillow images) and returns mattes and composited
images. The views, tasks and API are thin layers over `remove_background` and `predict_alpha`.

Pipeline (each step is measured by bench/cutout.py; steps.STEPS switches them off for --ablate).
`pipeline.analyse` runs steps 1 to 5 and returns the matte and its score; `predict_alpha` stops
there, `output.remove_background` goes on to the foreground colours and step 6:
1. locate (pipeline.py, the model in model.py): the ISNet model at 768 px over the whole photo
   (the model is scale-sensitive: at 512 px it misses small products; 768 + a crop pass costs
   less than one 1024 px pass);
   second_look: when nothing is confident, a closer pass on the lower middle of the photo,
   where products stand (thin, small and glassy products on busy backgrounds);
2. select (subject.py): keep the main subject (and the objects that belong with it), drop salient
   clutter; frame contact counts only when a component meets the frame along a good part of its
   extent, so a product's thin stand reaching the edge does not disqualify it;
3. split_fused (subject.py): a subject fused with the furniture it stands on or leans against is
   split where the blob falls apart at high confidence, dropping the parts that run into the frame;
   colour_split (colour_cores): when it does not fall apart, colour regions that run into the frame
   seed the furniture and clearly different colours seed the product;
4. refine (pipeline.py): a second ISNet pass on a crop around the subject, at the crop's own
   resolution (capped), so the subject gets the model's full attention and the clutter is out of
   view; fuse_passes: inside the chosen subject the two passes vote (mean), except in holes the
   crop pass opened and where furniture was split off; cut_clutter: what pass 1 saw but left
   out of the subject stays out;
5. matte (matte.py): clear enclosed background, guided-filter the matte at full resolution,
   estimate decontaminated foreground colours so edges show no halo on white (estimate_foreground,
   run by remove_background); pipeline.confidence scores the result;
6. compose (output.py): white, colour or transparent output, optionally fitted into a target size, with
   an optional soft contact shadow.

Afterwards, by hand: refine.refine_matte corrects a matte with the merchant's keep and remove strokes
and a box (strokes spread by colour, then grabCut settles the boundary near the edits, edges guided-
filtered as in step 5); remove_background(matte=...) composes the corrected matte as in step 6.
"""

from .model import MODEL_TYPES, ModelMissingError, clear_sessions, default_threads, model_dir, model_path
from .output import BACKGROUNDS, CutoutResult, remove_background
from .pipeline import predict_alpha
from .refine import RefineReport, refine_matte, refine_matte_report
from .steps import STEPS

__all__ = [
    "BACKGROUNDS",
    "MODEL_TYPES",
    "STEPS",
    "CutoutResult",
    "ModelMissingError",
    "RefineReport",
    "clear_sessions",
    "default_threads",
    "model_dir",
    "model_path",
    "predict_alpha",
    "refine_matte",
    "refine_matte_report",
    "remove_background",
]
