"""The service worker is served with its cache named after the web client's files."""

import re
import shutil
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import pages
from app.api.pages import SW_CACHE_PLACEHOLDER, WEB_DIR, shell_version


def test_the_version_follows_every_file_but_the_worker(tmp_path: Path) -> None:
    web = tmp_path / "web"
    shutil.copytree(WEB_DIR, web)
    before = shell_version(web)
    assert re.fullmatch(r"[0-9a-f]{16}", before)
    (web / "sw.js").write_text("// only the worker changed\n", encoding="utf-8")
    assert shell_version(web) == before
    roomview = web / "js" / "roomview.js"
    roomview.write_bytes(roomview.read_bytes() + b"\n")
    edited = shell_version(web)
    assert edited != before
    (web / "js" / "new.js").write_text("", encoding="utf-8")
    assert shell_version(web) not in (before, edited)


def test_the_worker_is_served_with_its_release_cache_and_checked_every_time() -> None:
    app = FastAPI()
    app.include_router(pages.router)
    res = TestClient(app).get("/sw.js")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/javascript")
    assert res.headers["cache-control"] == "no-cache"
    assert SW_CACHE_PLACEHOLDER in (WEB_DIR / "sw.js").read_text(encoding="utf-8")
    assert SW_CACHE_PLACEHOLDER not in res.text
    assert f"const CACHE = 'haven-shell-{shell_version(WEB_DIR)}';" in res.text
