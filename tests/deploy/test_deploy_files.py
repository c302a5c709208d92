"""The deployment files one copies are valid for the tools that read them."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from bench.delivery import procfile_words, shell_words
from tests.s3server import free_ports

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def test_the_nginx_site_passes_nginx_t():
    if not Path(NGINX).exists():
        pytest.skip("no nginx")
    work = Path(tempfile.mkdtemp(prefix="echoppe-nginx-t-"))
    site = (DEPLOY / "nginx-echoppe.conf").read_text()
    # Only what a test machine lacks: a certificate, port 443, the include's path.
    tls, plain = free_ports(2)
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{tls};").replace(
        "listen 80;", f"listen 127.0.0.1:{plain};"
    )
    site = site.replace("/etc/nginx/echoppe_proxy.conf", str(DEPLOY / "echoppe_proxy.conf"))
    (work / "site.conf").write_text(site)
    (work / "nginx.conf").write_text(
        f"pid {work}/nginx.pid; error_log {work}/error.log;"
        f" events {{}} http {{ access_log off; include {work}/site.conf; }}"
    )
    done = subprocess.run(
        [NGINX, "-t", "-c", str(work / "nginx.conf"), "-p", str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    compose_site = (DEPLOY / "compose-nginx.conf").read_text()
    assert "client_max_body_size 21g" in compose_site and "proxy_request_buffering off" in site


def test_the_systemd_units_run_the_procfile_commands():
    units = {p.name: p.read_text() for p in (DEPLOY / "systemd").glob("*.service")}
    assert set(units) == {
        "echoppe-web.service",
        "echoppe-worker.service",
        "echoppe-clock.service",
        "echoppe-release.service",
    }
    assert "manage.py clock" in units["echoppe-clock.service"]
    assert "manage.py worker" in units["echoppe-worker.service"]
    assert "manage.py release" in units["echoppe-release.service"]
    assert "--access-logfile -" in units["echoppe-web.service"]
    for name, text in units.items():
        assert "EnvironmentFile=/etc/echoppe.env" in text, name
    analyze = shutil.which("systemd-analyze")
    if analyze:
        done = subprocess.run(
            [analyze, "verify", "--man=no", *[str(p) for p in (DEPLOY / "systemd").glob("*")]],
            capture_output=True,
            text=True,
            check=False,
        )
        # Users and paths of a real host are missing here; syntax errors are not.
        assert "Unknown key" not in done.stderr and "Invalid" not in done.stderr, done.stderr


def _gunicorn_options(argv: list[str]):
    """The gunicorn options of a command's words, as gunicorn reads them."""
    from gunicorn.config import Config

    start = next(n for n, word in enumerate(argv) if word.endswith("gunicorn"))
    config = Config()
    for name, value in vars(config.parser().parse_args(argv[start + 1 :])).items():
        if value is not None and name in config.settings:
            config.set(name, value)
    return config


def test_web_workers_are_not_recycled_unless_asked():
    # Each recycled worker imports the app again while requests wait (decision 104).
    shipped = _gunicorn_options(procfile_words("web", {}))
    assert (shipped.max_requests, shipped.max_requests_jitter) == (0, 0)
    assert (shipped.workers, shipped.threads, shipped.worker_class_str) == (2, 8, "gthread")
    asked = _gunicorn_options(
        procfile_words("web", {"WEB_MAX_REQUESTS": "100000", "WEB_MAX_REQUESTS_JITTER": "10000"})
    )
    assert (asked.max_requests, asked.max_requests_jitter) == (100000, 10000)
    unit = (DEPLOY / "systemd" / "echoppe-web.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*?[^\\])$", unit, re.M | re.S)
    assert exec_start is not None
    served = _gunicorn_options(
        shell_words(exec_start.group(1).replace("%%", "%"), {"FORWARDED_ALLOW_IPS": "127.0.0.1"})
    )
    assert served.max_requests == 0
    assert (served.workers, served.threads, served.timeout) == (2, 8, shipped.timeout)


def test_the_image_leaves_the_checkouts_environment_data_and_secrets_out():
    """compose.yaml builds from the repository's root: what a developer's checkout holds
    beside the code (its virtualenv, database, uploads, .env) stays out of the image."""
    ignored = {
        line.strip()
        for line in (DEPLOY.parents[1] / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".env", "/db.sqlite3*", "/media/*", ".git"} <= ignored
    # The media folder itself is part of the layout (its .gitkeep), its files are not.
    assert "!/media/.gitkeep" in ignored
