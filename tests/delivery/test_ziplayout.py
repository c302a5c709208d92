"""The ZIP laid out before its first byte (delivery.ziplayout): what zipfile and
unzip read of it, its ranges, ZIP64, and its files sent with sendfile() by a
real gunicorn between the headers gunicorn writes itself."""

from __future__ import annotations

import http.client
import io
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from delivery import ziplayout

ROOT = Path(__file__).resolve().parents[2]


def _files(folder: Path) -> dict[str, bytes]:
    files = {
        "01 Ouverture.flac": os.urandom(300_000),
        "02 Été indien.flac": os.urandom(1_000_003),
        "03 empty.txt": b"",
        "04 notes.txt": b"liner notes\n" * 50,
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
        os.utime(folder / name, (1_700_000_000, 1_700_000_000))
    return files


def _members(folder: Path, files: dict[str, bytes]) -> list[ziplayout.Member]:
    return [
        ziplayout.Member(
            arcname=f"Album/{name}",
            name=str(folder / name),
            size=len(data),
            crc32=zlib.crc32(data),
            mtime=(folder / name).stat().st_mtime,
        )
        for name, data in files.items()
    ]


def _open(name: str):
    return open(name, "rb")


def _bytes(parts: list[ziplayout.Part]) -> bytes:
    return b"".join(ziplayout.parts_bytes(parts, _open))


def test_zipfile_reads_every_entry_with_its_crc_name_and_date(tmp_path):
    files = _files(tmp_path)
    parts = ziplayout.zip_layout(_members(tmp_path, files))
    data = _bytes(parts)
    assert len(data) == ziplayout.parts_size(parts)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None  # every CRC checked against the bytes
    assert archive.namelist() == [f"Album/{name}" for name in files]
    for name, body in files.items():
        info = archive.getinfo(f"Album/{name}")
        assert info.compress_type == zipfile.ZIP_STORED
        assert archive.read(info) == body
        assert info.date_time == (2023, 11, 14, 22, 13, 20)  # 1,700,000,000 in UTC
    assert archive.getinfo("Album/02 Été indien.flac").flag_bits & 0x800  # UTF-8 name


@pytest.mark.skipif(shutil.which("unzip") is None, reason="unzip is not installed")
def test_unzip_tests_it_and_restores_the_dates(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    files = _files(source)
    archive = tmp_path / "album.zip"
    archive.write_bytes(_bytes(ziplayout.zip_layout(_members(source, files))))
    tested = subprocess.run(["unzip", "-t", str(archive)], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "No errors detected" in tested.stdout
    out = tmp_path / "out"
    subprocess.run(["unzip", "-q", str(archive), "-d", str(out)], check=True)
    restored = out / "Album" / "04 notes.txt"
    assert restored.read_bytes() == files["04 notes.txt"]
    assert int(restored.stat().st_mtime) == 1_700_000_000  # from the UT extra field


def test_any_range_is_the_same_bytes_as_the_whole(tmp_path):
    files = _files(tmp_path)
    parts = ziplayout.zip_layout(_members(tmp_path, files))
    whole = _bytes(parts)
    size = len(whole)
    for first, length in [
        (0, 1),
        (0, size),
        (10, 100),
        (29, 300_000),
        (size - 1, 1),
        (400_000, 700_000),
    ]:
        chosen = ziplayout.parts_range(parts, first, length)
        assert ziplayout.parts_size(chosen) == length
        assert _bytes(chosen) == whole[first : first + length]


def test_zip64_fields_once_sizes_offsets_or_counts_pass_the_limits(tmp_path, monkeypatch):
    files = _files(tmp_path)
    # Lowered limits: the same records a 5 GiB album or 70,000 entries would have.
    monkeypatch.setattr(ziplayout, "ZIP64_LIMIT", 500_000)
    monkeypatch.setattr(ziplayout, "ZIP64_COUNT_LIMIT", 3)
    data = _bytes(ziplayout.zip_layout(_members(tmp_path, files)))
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data  # ZIP64 end record and locator
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    big = archive.getinfo("Album/02 Été indien.flac")
    assert big.file_size == 1_000_003 and archive.read(big) == files["02 Été indien.flac"]
    assert archive.getinfo("Album/04 notes.txt").header_offset > 500_000
    assert len(archive.infolist()) == 4


def test_a_file_shorter_than_its_layout_stops_the_response(tmp_path):
    files = _files(tmp_path)
    parts = ziplayout.zip_layout(_members(tmp_path, files))
    (tmp_path / "02 Été indien.flac").write_bytes(b"cut")
    with pytest.raises(ziplayout.FileChanged):
        _bytes(parts)


def _serve_like_gunicorn(parts, server_side: socket.socket) -> None:
    # What gunicorn's workers do with a response iterator: write each chunk, then ask.
    for chunk in ziplayout.parts_sent(parts, server_side, lambda name: name):
        server_side.sendall(chunk)
    server_side.shutdown(socket.SHUT_WR)


def test_parts_sent_on_a_socket_are_the_same_bytes(tmp_path):
    files = _files(tmp_path)
    parts = ziplayout.zip_layout(_members(tmp_path, files))
    for chosen in (parts, ziplayout.parts_range(parts, 350_000, 200_000)):
        ours, theirs = socket.socketpair()
        received = bytearray()

        def read(sock=theirs, into=received) -> None:
            while chunk := sock.recv(1 << 16):
                into.extend(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        _serve_like_gunicorn(chosen, ours)
        reader.join(10)
        ours.close()
        theirs.close()
        assert bytes(received) == _bytes(chosen)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["gthread", "sync"])
def gunicorn(request, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    files = _files(folder)
    port = _free_port()
    env = {**os.environ, "ZIP_TEST_DIR": str(folder), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.delivery.zip_wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            request.param,
            "--workers",
            "1",
            "--threads",
            "2",
            "--keep-alive",
            "5",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, folder, files
    server.terminate()
    server.wait(10)


@pytest.mark.slow
def test_a_real_gunicorn_sends_the_files_with_sendfile_between_its_own_writes(gunicorn):
    port, folder, files = gunicorn
    expected = _bytes(ziplayout.zip_layout(_members(folder, files)))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    # Three requests on one connection: gunicorn's framing stays right after each.
    for headers, wanted in [
        ({}, expected),
        ({"Range": "bytes=1000-400999"}, expected[1000:401000]),
        ({}, expected),
    ]:
        connection.request("GET", "/album.zip", headers=headers)
        response = connection.getresponse()
        body = response.read()
        assert response.getheader("X-Sent-With") == "sendfile"
        assert int(response.getheader("Content-Length")) == len(wanted)
        assert body == wanted
    connection.close()
    assert zipfile.ZipFile(io.BytesIO(expected)).testzip() is None
