"""Scenes pages' first load: the library and a product's Scenes tab, in Chromium, against gunicorn.

Run: .venv/bin/python bench/scenes_page.py

Self-contained: a temporary directory holds the SQLite database and media; the script migrates it, loads
the presets (`load_scene_presets`, which draws the 60 covers ahead), makes a team with one product photo,
collects the static files (into staticfiles/, as a release does), starts gunicorn
(gunicorn.conf.py, DEBUG=false) and drives /usr/bin/chromium (1280 x 900) through
Playwright. "First load" is the first request of a freshly started server: from navigation start until
the load event and every image in the first screen decoded (lazy images further down are not counted,
as a merchant does not wait for them). Each figure is the median of --runs fresh servers.

Scenarios:
- library, covers drawn ahead: /jobs/scenes/ (12 a page).
- library, covers not drawn yet (`load_scene_presets --no-covers`): the page shows each
  scene's colours and asks the worker for the covers; no worker runs here, so nothing is drawn meanwhile.
- drawing covers while the page waits: what any page that showed the missing covers as images would
  cost (each cover request renders it, ~0.2 s a cover, 60 covers), measured by fetching them.
- the product's Scenes tab: recommendations over all 60 scenes (the text model, the image model and the
  photo's colours on first use; the covers drawn ahead), and its placement preview, whose very first
  request cuts the photo out (the cut-out model; kept in storage for every later preview and render).

Figures are printed last, in one block. The machine may be shared; the load average is printed with them.

Measured (2 cores shared with other work, load average about 20, medians of 3): the library 0.49 s with
covers drawn ahead, 0.74 s with none drawn yet (placeholders; on request, drawing the 60 covers took 53 s);
the product's Scenes tab 0.5 s for its HTML and 2.1-2.6 s until its first screen and preview are shown,
except the very first preview of a photo, which waited 19.7 s for the photo's cut-out.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-password-for-scenes-42"
TARGET_SECONDS = 2.0


# =================================================================================================
# Inside Django (the script re-runs itself as `scenes_page.py _setup` with the server's environment)
# =================================================================================================
def setup() -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from PIL import Image, ImageDraw

    from catalog.models import Category, Product, ProductImage, Team

    user = get_user_model().objects.create_user("bench", password=PASSWORD)
    team = Team.create_with_owner("Bench shop", user)
    product = Product.objects.create(
        team=team, title="Red ceramic coffee mug 350ml", category=Category.HOME_GARDEN
    )
    picture = Image.new("RGB", (800, 800), (244, 244, 242))
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle((250, 220, 560, 640), radius=40, fill=(190, 30, 35))
    draw.ellipse((540, 330, 660, 500), outline=(190, 30, 35), width=26)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    ProductImage.objects.ingest(
        team=team, data=buffer.getvalue(), original_filename="mug.jpg", uploaded_by=user, product=product
    )
    return {"product": product.pk}


def forget_covers() -> dict:
    """As after `load_scene_presets --no-covers`: no preset has a cover."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.core.files.storage import default_storage

    from processing.models import Scene

    names = [scene.cover.name for scene in Scene.objects.presets() if scene.cover]
    Scene.objects.presets().update(cover="")
    for name in names:
        default_storage.delete(name)
    return {"presets": list(Scene.objects.presets().values_list("model_num", flat=True))}


# =================================================================================================
# Outside: the server and the browser
# =================================================================================================
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Stack:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="vitrine-scenes-page-"))
        self.port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            # Plain HTTP on loopback: no redirect to HTTPS, cookies without the Secure flag.
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": f"sqlite:///{self.dir / 'db.sqlite3'}",
            "MEDIA_ROOT": str(self.dir / "media"),
            "SEARCH_INDEX_DIR": str(self.dir / "search-index"),
            "LOG_LEVEL": "WARNING",
            "CONN_MAX_AGE": "600",
            "GUNICORN_BIND": f"{HOST}:{self.port}",
        }
        for name in (
            "VITRINE_TESTING",
            "TASK_BACKEND",
            "CACHE_BACKEND",
            "STORAGE_BACKEND",
            "PYTEST_CURRENT_TEST",
        ):
            self.env.pop(name, None)
        self.server: subprocess.Popen | None = None

    def manage(self, *arguments: str) -> None:
        subprocess.run(
            [PYTHON, "manage.py", *arguments], cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL
        )

    def inside(self, what: str) -> dict:
        done = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), "_inside", what],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start(self) -> None:
        log = open(self.dir / "gunicorn.log", "ab")  # noqa: SIM115 - closed with the directory
        self.server = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "project.wsgi", "-c", str(ROOT / "gunicorn.conf.py")],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(self.dir / 'gunicorn.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start within 60 s")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


FIRST_SCREEN_READY = """() => [...document.images]
  .filter(i => { const r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight && r.width > 0; })
  .every(i => i.complete && i.naturalWidth > 0)"""


def load_seconds(page, url: str) -> tuple[float, float]:
    """(navigation start until the load event and every image of the first screen decoded,
    navigation start until the page's HTML arrived)."""
    started = time.monotonic()
    page.goto(url, wait_until="load")
    deadline = started + 180
    while not page.evaluate(f"({FIRST_SCREEN_READY})()"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url}: images of the first screen still loading after 180 s")
        page.wait_for_timeout(20)
    elapsed = time.monotonic() - started
    html = page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd") / 1000
    if os.environ.get("BENCH_SHOW_RESOURCES"):
        slow = page.evaluate(
            "performance.getEntriesByType('resource').filter(e => e.duration > 150)"
            ".map(e => [e.name.replace(location.origin, ''), Math.round(e.startTime), Math.round(e.duration)])"
        )
        print(f"    {url}: HTML {html:.2f} s; slow parts {slow}")
    return elapsed, html


def browse(stack: Stack, paths: list[str]) -> list[tuple[float, float]]:
    """A freshly started server, a logged-in Chromium, then each path once (the first is the cold one)."""
    from playwright.sync_api import sync_playwright

    stack.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"], headless=True
            )
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(180_000)  # a first load on a busy machine can be slow: measure it
                base = f"http://{HOST}:{stack.port}"
                # Log in without touching the scenes code paths (the catalog page is the landing page).
                page.goto(f"{base}/accounts/login/")
                page.fill("input[name=username]", "bench")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/catalog/")
                return [load_seconds(page, base + path) for path in paths]
            finally:
                browser.close()
    finally:
        stack.stop()


def fetch_all_covers(stack: Stack, model_nums: list[str]) -> float:
    """Every preset cover requested once while none is drawn: each request renders its cover."""
    stack.start()
    try:
        started = time.monotonic()
        for number in model_nums:
            with urllib.request.urlopen(
                f"http://{HOST}:{stack.port}/jobs/scenes/{number}/cover.jpg", timeout=60
            ) as answer:
                answer.read()
        return time.monotonic() - started
    finally:
        stack.stop()


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "_inside":
        print(json.dumps(setup() if sys.argv[2] == "setup" else forget_covers()))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh servers per scenario (median)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        parser.error(f"{CHROMIUM} is missing: apt-get install chromium (make test installs it)")

    load_start = os.getloadavg()[0]
    stack = Stack()
    rows: list[tuple[str, list[float]]] = []
    try:
        print(f"temporary directory {stack.dir}; migrating, loading the presets and drawing their covers")
        stack.manage("migrate", "--noinput")
        stack.manage("collectstatic", "--noinput")  # DEBUG=false serves hashed static files (whitenoise)
        started = time.monotonic()
        stack.manage("load_scene_presets")
        print(
            f"load_scene_presets: {time.monotonic() - started:.1f} s (covers drawn ahead, text cache warmed)"
        )
        product = stack.inside("setup")["product"]
        tab = f"/jobs/scenes/product/{product}/"

        library_cold, library_warm, tab_first, tab_cold, tab_html, tab_warm = [], [], [], [], [], []
        for run in range(args.runs):
            (a, _), (b, _), (c, c_html), (d, _) = browse(
                stack, ["/jobs/scenes/", "/jobs/scenes/?page=2", tab, f"{tab}?sceneType=1"]
            )
            library_cold.append(a)
            library_warm.append(b)
            # The first run's preview cuts the photo out (and keeps the cut-out); later runs reuse it.
            (tab_first if run == 0 else tab_cold).append(c)
            tab_html.append(c_html)
            tab_warm.append(d)
            print(
                f"  covers ahead: library {a:.2f} s, next page {b:.2f} s, "
                f"Scenes tab {c:.2f} s (HTML {c_html:.2f} s), filtered {d:.2f} s"
            )
        rows += [
            ("library, first load (covers drawn ahead)", library_cold),
            ("library, next page", library_warm),
            ("product Scenes tab, HTML of the first load", tab_html),
            ("product Scenes tab, first ever (preview cuts the photo out)", tab_first),
            ("product Scenes tab, first load (cut-out kept)", tab_cold or tab_first),
            ("product Scenes tab, filtered", tab_warm),
        ]

        missing = []
        for _run in range(args.runs):
            stack.inside("forget")
            missing.append(browse(stack, ["/jobs/scenes/"])[0][0])
            print(f"  covers missing: library {missing[-1]:.2f} s")
        rows.append(("library, first load (covers missing: placeholders)", missing))
        drawing = fetch_all_covers(stack, stack.inside("forget")["presets"])
        print(f"  drawing the 60 covers on request: {drawing:.2f} s")
        rows.append(("60 covers drawn while a page waits (avoided)", [drawing]))
    finally:
        stack.close()

    print(f"\nScenes pages, first load (median of {args.runs}; target {TARGET_SECONDS:.0f} s)")
    for label, values in rows:
        print(
            f"  {label:55} {statistics.median(values):6.2f} s   (runs: {', '.join(f'{v:.2f}' for v in values)})"
        )
    print(f"  load average {load_start:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
