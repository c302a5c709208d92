"""PDF through pypdf; EPUB and ZIP through zipfile, read in capped pieces.

EPUB (OCF 3.3): a ZIP whose `mimetype` entry says `application/epub+zip`,
whose `META-INF/container.xml` names the package document (`rootfile
full-path`), whose package document (OPF) carries `dc:title`, `dc:creator`
and `dc:language` in its `metadata`. Any break in that chain refuses the file
with the link that broke.

No archive member is ever read whole: each read asks for at most its cap plus
one byte, so a member that lies about its size cannot grow past the cap. The
central directory is checked first for zip bombs (declared sizes and
compression ratios, entries overlapping each other) and for ambiguous names.
XML goes through defusedxml, which refuses entity declarations (billion
laughs) and external references (XXE).
"""

from __future__ import annotations

import struct
import unicodedata
import warnings
import zipfile
import zlib
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeXML
from django.utils.translation import gettext_noop
from pypdf import PasswordType, PdfReader

from catalog.inspection.types import Inspection, MediaRefused, clean_text

MAX_ENTRIES = 50_000
MAX_UNPACKED_BYTES = 64 * 1024**3  # declared total: more is not a product, it is a trap
MAX_RATIO = 200  # deflate on real content rarely beats 20:1; bombs go past 1000:1
RATIO_FLOOR_BYTES = 64 * 1024**2  # small members may compress well, they cannot hurt
CONTAINER_CAP = 256 * 1024
PACKAGE_CAP = 8 * 1024**2
MIMETYPE = b"application/epub+zip"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
DC_NS = "http://purl.org/dc/elements/1.1/"

_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    zlib.error,
    UnicodeDecodeError,
)


# --- PDF -----------------------------------------------------------------------


def inspect_pdf(path: str) -> Inspection:
    """Pages, title, author and encryption of a PDF; a PDF whose pages can't be found is refused."""
    notes: list[str] = []
    with open(path, "rb") as handle:  # a path would make pypdf read the whole file into memory
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reader = PdfReader(handle, strict=False)
                encrypted = bool(reader.is_encrypted)
                readable = not encrypted or _opens_without_password(reader)
                pages = len(reader.pages) if readable else None
        except MemoryError:
            raise
        except Exception as error:  # pypdf raises PdfReadError, but also Key/Type/ValueErrors
            raise MediaRefused(
                gettext_noop("This PDF is damaged or incomplete and cannot be read (%(detail)s)."),
                {"detail": _detail(error)},
            ) from error
        title = author = None
        if readable:
            try:
                metadata = reader.metadata
                if metadata is not None:
                    title, author = clean_text(metadata.title), clean_text(metadata.author)
            except MemoryError:
                raise
            except Exception:
                notes.append("Its document information (title, author) is damaged and was ignored.")
    if pages == 0:
        raise MediaRefused(gettext_noop("This PDF has no pages."))
    if encrypted and not readable:
        notes.append("It is protected by a password: buyers will need the password to open it.")
    elif encrypted:
        notes.append("It is encrypted with usage restrictions (it opens without a password).")
    return Inspection(
        kind="ebook",
        mime="application/pdf",
        format="PDF document",
        pages=pages,
        title=title,
        authors=(author,) if author else (),
        encrypted=encrypted,
        warnings=tuple(notes),
    )


def _opens_without_password(reader: PdfReader) -> bool:
    try:
        return reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except MemoryError:
        raise
    except Exception:  # AES needs the optional `cryptography`; without it the content stays closed
        return False


def _detail(error: BaseException) -> str:
    text = str(error).strip().rstrip(".") or type(error).__name__
    return text[:160]


# --- ZIP -------------------------------------------------------------------------


def _open_zip(path: str, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except _ZIP_ERRORS as error:
        raise MediaRefused(
            gettext_noop("This %(what)s is not a readable ZIP archive (%(detail)s)."),
            {"what": what, "detail": _detail(error)},
        ) from error


def _raw_name_length(info: zipfile.ZipInfo) -> int:
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    return len(info.filename.encode(encoding, "replace"))


def check_zip(archive: zipfile.ZipFile, file_size: int, what: str, *, fold_names: bool) -> None:
    """Refuse zip bombs and ambiguous archives from the central directory alone."""
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise MediaRefused(
            gettext_noop("This %(what)s holds %(len)s files; the limit is %(MAX_ENTRIES)s."),
            {
                "what": what,
                "len": format(len(entries), ","),
                "MAX_ENTRIES": format(MAX_ENTRIES, ","),
            },
        )
    seen: set[str] = set()
    total = 0
    for info in entries:
        key = (
            unicodedata.normalize("NFC", info.filename).casefold() if fold_names else info.filename
        )
        if key in seen:
            raise MediaRefused(
                f"This {what} has two entries named “{clean_text(info.filename)}”"
                + (" (ignoring case)" if fold_names else "")
                + ": readers would not agree on which one to use."
            )
        seen.add(key)
        total += info.file_size
        if info.file_size > RATIO_FLOOR_BYTES and (
            info.compress_size == 0 or info.file_size / info.compress_size > MAX_RATIO
        ):
            raise MediaRefused(
                gettext_noop(
                    "This %(what)s is a zip bomb: “%(clean_text)s” claims "
                    "%(file_size)s bytes packed into %(compress_size)s."
                ),
                {
                    "what": what,
                    "clean_text": clean_text(info.filename),
                    "file_size": format(info.file_size, ","),
                    "compress_size": format(info.compress_size, ","),
                },
            )
    if total > MAX_UNPACKED_BYTES:
        raise MediaRefused(
            gettext_noop(
                "This %(what)s would unpack to %(value)s GiB; the limit is %(value2)s GiB."
            ),
            {
                "what": what,
                "value": format(total / 1024**3, ",.0f"),
                "value2": MAX_UNPACKED_BYTES // 1024**3,
            },
        )
    ordered = sorted(entries, key=lambda info: info.header_offset)
    for current, following in zip(ordered, [*ordered[1:], None], strict=True):
        data_end = current.header_offset + 30 + _raw_name_length(current) + current.compress_size
        limit = following.header_offset if following is not None else file_size
        if data_end > limit:
            raise MediaRefused(
                gettext_noop(
                    "This %(what)s is damaged or crafted: the data of "
                    "“%(clean_text)s” runs into the next entry or past the end "
                    "of the file."
                ),
                {"what": what, "clean_text": clean_text(current.filename)},
            )


def read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, what: str) -> bytes:
    """A member's bytes, never more than `cap`, whatever the archive declares."""
    name = clean_text(info.filename)
    if info.file_size > cap:
        raise MediaRefused(
            gettext_noop("The %(what)s “%(name)s” is %(file_size)s bytes; the limit is %(cap)s."),
            {
                "what": what,
                "name": name,
                "file_size": format(info.file_size, ","),
                "cap": format(cap, ","),
            },
        )
    try:
        with archive.open(info) as member:
            data = member.read(cap + 1)
    except _ZIP_ERRORS as error:
        raise MediaRefused(
            gettext_noop("The %(what)s “%(name)s” cannot be read (%(detail)s)."),
            {"what": what, "name": name, "detail": _detail(error)},
        ) from error
    if len(data) > cap:
        raise MediaRefused(
            gettext_noop(
                "The %(what)s “%(name)s” is larger than it says; the limit is %(cap)s bytes."
            ),
            {"what": what, "name": name, "cap": format(cap, ",")},
        )
    return data


def parse_xml(data: bytes, what: str) -> Element:
    try:
        return SafeXML.fromstring(data)
    except DefusedXmlException as error:
        raise MediaRefused(
            gettext_noop(
                "The %(what)s declares XML entities or external references, "
                "which are refused: they are a known way to attack readers."
            ),
            {"what": what},
        ) from error
    except SafeXML.ParseError as error:
        raise MediaRefused(
            gettext_noop("The %(what)s is not well-formed XML (%(detail)s)."),
            {"what": what, "detail": _detail(error)},
        ) from error


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _check_names_are_utf8(archive: zipfile.ZipFile) -> None:
    for info in archive.infolist():
        if info.flag_bits & 0x800 or info.filename.isascii():
            continue
        try:
            info.filename.encode("cp437").decode("utf-8")
        except UnicodeError as error:
            raise MediaRefused(
                gettext_noop(
                    "The EPUB has a file name that is not UTF-8 "
                    "(“%(clean_text)s”): reading systems could not find that "
                    "file."
                ),
                {"clean_text": clean_text(info.filename)},
            ) from error


def inspect_epub(path: str, file_size: int) -> Inspection:
    archive = _open_zip(path, "EPUB")
    with archive:
        check_zip(archive, file_size, "EPUB", fold_names=True)
        _check_names_are_utf8(archive)
        members = {info.filename: info for info in archive.infolist()}
        notes: list[str] = []
        mimetype = members.get("mimetype")
        if mimetype is None:
            raise MediaRefused(
                gettext_noop(
                    "This EPUB is broken: it has no “mimetype” entry, the first "
                    "thing a reading system checks."
                )
            )
        if read_capped(archive, mimetype, 64, "EPUB entry").strip() != MIMETYPE:
            raise MediaRefused(
                gettext_noop(
                    "This EPUB is broken: its “mimetype” entry is not application/epub+zip."
                )
            )
        if archive.infolist()[0].filename != "mimetype":
            notes.append("Its “mimetype” entry is not the first in the archive; some readers mind.")
        container_info = members.get("META-INF/container.xml")
        if container_info is None:
            raise MediaRefused(
                gettext_noop("This EPUB is broken: it has no META-INF/container.xml.")
            )
        container = parse_xml(
            read_capped(archive, container_info, CONTAINER_CAP, "EPUB container"),
            "EPUB's META-INF/container.xml",
        )
        if container.tag != f"{{{CONTAINER_NS}}}container":
            raise MediaRefused(
                gettext_noop(
                    "This EPUB is broken: META-INF/container.xml is not an OCF container document."
                )
            )
        rootfiles = [el for el in container.iter() if _local(el.tag) == "rootfile"]
        preferred = [
            el for el in rootfiles if el.get("media-type") == "application/oebps-package+xml"
        ]
        candidates = preferred or rootfiles
        full_path = candidates[0].get("full-path") if candidates else None
        if not full_path:
            raise MediaRefused(
                gettext_noop(
                    "This EPUB is broken: META-INF/container.xml names no package document."
                )
            )
        package_info = members.get(full_path)
        if package_info is None:
            raise MediaRefused(
                gettext_noop(
                    "This EPUB is broken: its container points to "
                    "“%(clean_text)s”, which is not in the archive."
                ),
                {"clean_text": clean_text(full_path)},
            )
        package = parse_xml(
            read_capped(archive, package_info, PACKAGE_CAP, "EPUB package document"),
            f"EPUB's package document ({clean_text(full_path)})",
        )
    if _local(package.tag) != "package":
        raise MediaRefused(
            gettext_noop("This EPUB is broken: its package document is not an OPF <package>.")
        )
    metadata = next((el for el in package if _local(el.tag) == "metadata"), None)
    titles: list[str] = []
    creators: list[str] = []
    languages: list[str] = []
    for element in metadata.iter() if metadata is not None else ():
        if not str(element.tag).startswith(f"{{{DC_NS}}}"):
            continue
        text = clean_text("".join(element.itertext()), 300)
        if not text:
            continue
        {"title": titles, "creator": creators, "language": languages}.get(
            _local(element.tag), []
        ).append(text)
    if not titles:
        notes.append("Its package document has no title (dc:title).")
    return Inspection(
        kind="ebook",
        mime="application/epub+zip",
        format="EPUB ebook",
        title=titles[0] if titles else None,
        authors=tuple(dict.fromkeys(creators))[:20],
        language=languages[0] if languages else None,
        warnings=tuple(notes),
    )


def inspect_zip(path: str, file_size: int) -> Inspection:
    archive = _open_zip(path, "ZIP archive")
    with archive:
        check_zip(archive, file_size, "ZIP archive", fold_names=False)
        names = set(archive.namelist())
        files = [info for info in archive.infolist() if not info.is_dir()]
        encrypted = any(info.flag_bits & 0x1 for info in files)
    if "META-INF/container.xml" in names:
        # Shaped like an EPUB without saying so: let the EPUB reader name what is missing.
        return inspect_epub(path, file_size)
    return Inspection(
        kind="archive",
        mime="application/zip",
        format="ZIP archive",
        entries=len(files),
        encrypted=encrypted,
        warnings=("Some files inside are password-protected.",) if encrypted else (),
    )
