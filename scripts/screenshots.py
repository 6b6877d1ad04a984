"""Make the README's pictures from the demo: the email at phone and desktop widths, the desk.

Run with `make screenshots` (needs the dev install and Debian's chromium). The pictures are
the demo's own edition, so they change when the sample or the templates do.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from digest.core.app import create_app
from digest.core.resources import examples_dir
from digest.demo import run_demo
from digest.settings.loading import load_settings
from digest.web.accounts import add_user
from digest.web.server import create_web_app

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "a screenshot password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    """Run the demo in a temporary folder, then photograph its email and the editor's desk."""
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "demo"
        result = run_demo(home)
        email_file = result.preview.html
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        settings = load_settings(
            examples_dir() / "demo.toml", env={},
            overrides={"home": str(home.resolve()), "base_url": base},
        )  # fmt: skip
        app = create_app(settings)
        with app.engine.begin() as conn:
            add_user(conn, "editor", PASSWORD, "editor", app.clock(), email="editor@example.com")
        server = uvicorn.Server(
            uvicorn.Config(create_web_app(app), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                for name, width, height in (
                    ("email-phone", 390, 1100),
                    ("email-desktop", 900, 900),
                ):
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.goto(email_file.as_uri())
                    page.screenshot(path=str(OUT / f"{name}.png"))
                    page.close()
                page = browser.new_page(viewport={"width": 1100, "height": 760})
                page.goto(f"{base}/desk")
                page.fill("input[name=username]", "editor")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/desk")
                page.click("table a >> nth=0")
                page.wait_for_load_state()
                page.screenshot(path=str(OUT / "desk.png"))
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            app.close()
    for picture in sorted(OUT.glob("*.png")):
        print(picture)


if __name__ == "__main__":
    main()
