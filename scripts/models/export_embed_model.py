"""Export an EfficientNet-Lite checkpoint to ONNX (runs ONLY in the Python 3.11 export venv with torch).

The app never imports torch: this script is the one place it is used. The graph outputs both the last
feature map (for pooled embeddings and a coarse objectness map) and the ImageNet logits, so one model run
serves search and scenes alike. Height and width are dynamic so the caller chooses the input resolution.

Usage: python export_embed_model.py --variant lite0 --weights X.pth --out var/models/x.onnx
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import torch
from efficientnet_lite_pytorch import EfficientNet
from torch import nn


class FeaturesAndLogits(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        net = self.net
        x = net._swish(net._bn0(net._conv_stem(x)))
        for block in net._blocks:
            x = block(x)
        blocks = x  # last MBConv output (320 channels at width 1.0): a compact descriptor source
        fmap = net._swish(net._bn1(net._conv_head(blocks)))
        logits = net._fc(fmap.mean(dim=(2, 3)))
        return fmap, logits, blocks


def reference_input(size: int) -> np.ndarray:
    # A fixed, seedless input so the app side can check the ONNX file computes what torch computed.
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.stack([np.sin(6 * xx), np.cos(5 * yy), xx * yy * 2 - 1])[None]
    return img.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", required=True, choices=["lite0", "lite1", "lite2", "lite3", "lite4"])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    net = EfficientNet.from_pretrained(f"efficientnet-{args.variant}", weights_path=args.weights)
    net.eval()
    model = FeaturesAndLogits(net).eval()
    size = 224
    sample = torch.from_numpy(reference_input(size))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".onnx.tmp")
    with torch.no_grad():
        fmap, logits, _ = model(sample)
        torch.onnx.export(
            model,
            (sample,),
            str(tmp),
            input_names=["image"],
            output_names=["features", "logits", "blocks"],
            dynamic_axes={
                "image": {0: "n", 2: "h", 3: "w"},
                "features": {0: "n", 2: "fh", 3: "fw"},
                "logits": {0: "n"},
            },
            opset_version=17,
            dynamo=False,
        )
    np.save(out.with_suffix(".ref.npy"), logits.numpy())
    tmp.replace(out)
    print(f"wrote {out} sha256={hashlib.sha256(out.read_bytes()).hexdigest()} fmap={tuple(fmap.shape)}")


if __name__ == "__main__":
    main()
