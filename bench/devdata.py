"""Where the benchmark images are: `../shared/data/dev` beside the project root, as on every checkout and in CI.

`VITRINE_DEV_DATA` points elsewhere (each bench also keeps its own, narrower override)."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEV_DATA = Path(os.environ.get("VITRINE_DEV_DATA", PROJECT_ROOT.parent / "shared" / "data" / "dev"))
