"""Erase elements: find watermarks, shop names, promo text and colour blocks, and paint them out.

Pure engine (numpy / Pillow in and out, no Django). Element types follow the Aidge "Image
Elements Removal" API: 1 semi-transparent element, 2 specific name, 3 character, 4 colour block
with characters (`elements.py`, with the data the steps pass along). `object_types` apply to
elements printed on the product (the subject), `non_object_types` to everything else; a watermark
that merely crosses the product is not printed on it, so it follows `non_object_types`.

One call, `remove_elements` (`remove.py`), runs these steps in order:

1. Text lines: PP-OCR (RapidOCR, ONNX Runtime) whose weights ship inside the `rapidocr` wheel, so
   nothing is fetched at run time (`ocr.py`). The detector sees the whole image at 640 px (large
   words are found more reliably there than at 1024 px) and, when lines lie on the product, that
   part again at 1024 px scale for small print; ONNX sessions are built once per process, two
   intra-op threads.
2. Elements (`detect.py`, `detect_elements`): each line becomes a tight pixel mask (glyph strokes
   against a locally estimated background, grown over anti-aliasing) and a colour block around it
   is grown to its whole extent (`glyphs.py`); tiles of a repeated watermark are grouped by
   geometry and trimmed to the letters they share (`tiles.py`); round stamps (seal watermarks: two
   or more concentric thin rings, the words in the middle) are found beside the text detector, by
   gradient voting for circle centres and a radial profile around each candidate, and are type 1
   with the words inside them (`stamps.py`). The recogniser runs in one batch, only on lines whose
   type depends on their words (text inside a colour block is type 4 whatever it says), plus one
   line per watermark group or stamp so the element carries its text. The type is then decided
   from faintness, repetition, placement, the surrounding block and the recognised text.
3. Removal mask (`remove.py`, `build_removal_mask`): the chosen types, never the pixels of kept
   printed text. A hand-painted mask (RLE, `rle.py`) may take the detection's place.
4. Fill (`fill.py`, `inpaint_array`): per crop around each group of masked pixels, background and
   product filled separately; crops are inpainted two at a time.

Masks are kept box-local throughout (`masks.py`: a box and a bool array of its shape, with the
text-line geometry helpers every step uses).
"""

from processing.engines.erase.detect import detect_elements
from processing.engines.erase.elements import ALL_TYPES, TYPE_NAMES, Element, EraseResult
from processing.engines.erase.fill import METHODS
from processing.engines.erase.ocr import detect_text
from processing.engines.erase.remove import build_removal_mask, inpaint, remove_elements
from processing.engines.erase.rle import InvalidMask, decode_rle_mask, encode_rle_mask

__all__ = [
    "ALL_TYPES",
    "Element",
    "EraseResult",
    "InvalidMask",
    "METHODS",
    "TYPE_NAMES",
    "build_removal_mask",
    "decode_rle_mask",
    "detect_elements",
    "detect_text",
    "encode_rle_mask",
    "inpaint",
    "remove_elements",
]
