"""Does what the sender claims (file name, Content-Type) agree with the content?

Claims never decide the type; they are compared with what the content turned
out to be, so a seller who picked the wrong file hears about it. Formats are
compared by family: an `.m4a` holding an MP4 container with only sound is
fine, an `.mp3` holding a PDF is not.
"""

from __future__ import annotations

from catalog.media import format_name

# family: (what a person calls it, the content types that belong to it)
_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pdf": ("PDF", ("application/pdf", "application/x-pdf")),
    "epub": ("EPUB", ("application/epub+zip",)),
    "mp3": ("MP3", ("audio/mpeg", "audio/mp3", "audio/x-mpeg", "audio/mpeg3", "audio/x-mp3")),
    "flac": ("FLAC", ("audio/flac", "audio/x-flac")),
    "ogg": (
        "Ogg",
        ("audio/ogg", "audio/ogg; codecs=opus", "application/ogg", "video/ogg", "audio/opus"),
    ),
    "wav": ("WAV", ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave")),
    "aiff": ("AIFF", ("audio/aiff", "audio/x-aiff")),
    "mp4": (
        "MP4/M4A/MOV",
        (
            "audio/mp4",
            "audio/x-m4a",
            "audio/m4a",
            "video/mp4",
            "video/x-m4v",
            "video/quicktime",
            "video/3gpp",
            "video/3gpp2",
            "audio/3gpp",
            "audio/3gpp2",
        ),
    ),
    "matroska": (
        "WebM/Matroska",
        ("video/webm", "audio/webm", "video/x-matroska", "audio/x-matroska"),
    ),
    "aac": ("AAC", ("audio/aac", "audio/x-aac", "audio/aacp")),
    "ac3": ("AC-3", ("audio/ac3", "audio/eac3")),
    "midi": ("MIDI", ("audio/midi", "audio/x-midi", "audio/mid")),
    "wma": ("Windows Media", ("audio/x-ms-wma", "video/x-ms-wmv", "video/x-ms-asf")),
    "ape": ("Monkey's Audio", ("audio/x-ape", "audio/ape")),
    "wavpack": ("WavPack", ("audio/x-wavpack", "audio/wavpack")),
    "musepack": ("Musepack", ("audio/x-musepack", "audio/musepack")),
    "dsf": ("DSF", ("audio/x-dsf", "audio/dsf")),
    "dff": ("DSDIFF", ("audio/x-dff",)),
    "tak": ("TAK", ("audio/x-tak",)),
    "ofr": ("OptimFROG", ("audio/x-optimfrog",)),
    "tta": ("True Audio", ("audio/x-tta",)),
    "avi": ("AVI", ("video/x-msvideo", "video/avi", "video/msvideo")),
    "mpeg": ("MPEG video", ("video/mpeg",)),
    "flv": ("Flash video", ("video/x-flv",)),
    "jpeg": ("JPEG", ("image/jpeg", "image/jpg", "image/pjpeg")),
    "png": ("PNG", ("image/png", "image/x-png", "image/apng")),
    "webp": ("WebP", ("image/webp",)),
    "gif": ("GIF", ("image/gif",)),
    "avif": ("AVIF", ("image/avif",)),
    "heic": ("HEIC", ("image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence")),
    "jxl": ("JPEG XL", ("image/jxl",)),
    "tiff": ("TIFF", ("image/tiff", "image/tiff-fx")),
    "bmp": ("BMP", ("image/bmp", "image/x-bmp", "image/x-ms-bmp")),
    "psd": ("Photoshop", ("image/vnd.adobe.photoshop", "application/x-photoshop", "image/psd")),
    "eps": ("PostScript/EPS", ("application/postscript", "application/eps", "image/eps")),
    "ico": ("icon", ("image/x-icon", "image/vnd.microsoft.icon")),
    "jp2": ("JPEG 2000", ("image/jp2", "image/jpx", "image/j2c")),
    "svg": ("SVG", ("image/svg+xml",)),
    "dds": ("DDS", ("image/vnd-ms.dds",)),
    "qoi": ("QOI", ("image/qoi",)),
    "icns": ("ICNS", ("image/icns",)),
    "blp": ("BLP", ("image/x-blp",)),
    "flic": ("FLIC", ("image/x-flic",)),
    "sgi": ("SGI", ("image/sgi",)),
    "pcx": ("PCX", ("image/x-pcx",)),
    "pnm": ("Netpbm", ("image/x-portable-anymap", "image/x-portable-pixmap")),
    "xpm": ("XPM", ("image/x-xpixmap",)),
    "xbm": ("XBM", ("image/x-xbitmap",)),
    "fits": ("FITS", ("image/fits",)),
    "tga": ("Targa", ("image/x-tga", "image/tga")),
    "wmf": ("Windows metafile", ("image/wmf", "image/emf", "image/x-wmf", "image/x-emf")),
    "pcd": ("Photo CD", ("image/x-photo-cd",)),
    "fpx": ("FlashPix", ("image/vnd.fpx",)),
    "zip": ("ZIP", ("application/zip", "application/x-zip-compressed", "application/x-zip")),
    "rar": ("RAR", ("application/vnd.rar", "application/x-rar-compressed", "application/x-rar")),
    "7z": ("7-Zip", ("application/x-7z-compressed",)),
    "gzip": ("gzip", ("application/gzip", "application/x-gzip")),
    "bzip2": ("bzip2", ("application/x-bzip2",)),
    "xz": ("xz", ("application/x-xz",)),
    "tar": ("tar", ("application/x-tar",)),
}

_EXTENSIONS: dict[str, str] = {
    **dict.fromkeys(("pdf",), "pdf"),
    **dict.fromkeys(("epub",), "epub"),
    **dict.fromkeys(("mp3", "mp2", "mpga"), "mp3"),
    **dict.fromkeys(("flac",), "flac"),
    **dict.fromkeys(("ogg", "oga", "ogv", "opus", "spx"), "ogg"),
    **dict.fromkeys(("wav", "wave"), "wav"),
    **dict.fromkeys(("aif", "aiff", "aifc"), "aiff"),
    **dict.fromkeys(("mp4", "m4a", "m4b", "m4p", "m4v", "mov", "qt", "3gp", "3g2", "f4v"), "mp4"),
    **dict.fromkeys(("webm", "mkv", "mka", "mk3d"), "matroska"),
    **dict.fromkeys(("aac", "adts"), "aac"),
    **dict.fromkeys(("ac3", "eac3"), "ac3"),
    **dict.fromkeys(("mid", "midi"), "midi"),
    **dict.fromkeys(("wma", "wmv", "asf"), "wma"),
    **dict.fromkeys(("ape",), "ape"),
    **dict.fromkeys(("wv",), "wavpack"),
    **dict.fromkeys(("mpc",), "musepack"),
    **dict.fromkeys(("dsf",), "dsf"),
    **dict.fromkeys(("dff",), "dff"),
    **dict.fromkeys(("tak",), "tak"),
    **dict.fromkeys(("ofr", "ofs"), "ofr"),
    **dict.fromkeys(("tta",), "tta"),
    **dict.fromkeys(("avi",), "avi"),
    **dict.fromkeys(("mpg", "mpeg", "m1v", "m2v"), "mpeg"),
    **dict.fromkeys(("flv",), "flv"),
    **dict.fromkeys(("jpg", "jpeg", "jpe", "jfif"), "jpeg"),
    **dict.fromkeys(("png", "apng"), "png"),
    **dict.fromkeys(("webp",), "webp"),
    **dict.fromkeys(("gif",), "gif"),
    **dict.fromkeys(("avif",), "avif"),
    **dict.fromkeys(("heic", "heif"), "heic"),
    **dict.fromkeys(("jxl",), "jxl"),
    **dict.fromkeys(("tif", "tiff"), "tiff"),
    **dict.fromkeys(("bmp", "dib"), "bmp"),
    **dict.fromkeys(("psd", "psb"), "psd"),
    **dict.fromkeys(("eps", "ps", "epsf", "epsi"), "eps"),
    **dict.fromkeys(("ico", "cur"), "ico"),
    **dict.fromkeys(("jp2", "j2k", "jpf", "jpx", "j2c"), "jp2"),
    **dict.fromkeys(("svg",), "svg"),
    **dict.fromkeys(("dds",), "dds"),
    **dict.fromkeys(("qoi",), "qoi"),
    **dict.fromkeys(("icns",), "icns"),
    **dict.fromkeys(("blp",), "blp"),
    **dict.fromkeys(("fli", "flc"), "flic"),
    **dict.fromkeys(("sgi", "rgb", "rgba", "bw"), "sgi"),
    **dict.fromkeys(("pcx",), "pcx"),
    **dict.fromkeys(("ppm", "pgm", "pbm", "pnm", "pfm"), "pnm"),
    **dict.fromkeys(("xpm",), "xpm"),
    **dict.fromkeys(("xbm",), "xbm"),
    **dict.fromkeys(("fits", "fit"), "fits"),
    **dict.fromkeys(("tga", "icb", "vda", "vst"), "tga"),
    **dict.fromkeys(("wmf", "emf"), "wmf"),
    **dict.fromkeys(("pcd",), "pcd"),
    **dict.fromkeys(("fpx", "mic"), "fpx"),
    # Formats that are ZIP archives under another name.
    **dict.fromkeys(
        ("zip", "cbz", "docx", "xlsx", "pptx", "odt", "ods", "odp", "jar", "apk", "kmz"), "zip"
    ),
    **dict.fromkeys(("rar", "cbr"), "rar"),
    **dict.fromkeys(("7z", "cb7"), "7z"),
    **dict.fromkeys(("gz", "tgz"), "gzip"),
    **dict.fromkeys(("bz2", "tbz2"), "bzip2"),
    **dict.fromkeys(("xz", "txz"), "xz"),
    **dict.fromkeys(("tar",), "tar"),
}

_BY_TYPE = {mime: family for family, (_, mimes) in _FAMILIES.items() for mime in mimes}

# An EPUB is a ZIP: calling one "book.zip" is honest.
_COMPATIBLE = {("zip", "epub")}


def family_of_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return _BY_TYPE.get(content_type.split(";", 1)[0].strip().lower())


def family_of_name(filename: str | None) -> str | None:
    if not filename or "." not in filename:
        return None
    return _EXTENSIONS.get(filename.rsplit(".", 1)[-1].strip().lower())


def claimed_mime(filename: str | None = None, content_type: str | None = None) -> str | None:
    """The content type the name (or else the Content-Type) claims, in its canonical form."""
    family = family_of_name(filename) or family_of_type(content_type)
    return _FAMILIES[family][1][0] if family else None


def _with_article(label: str) -> str:
    if label.endswith((" audio", " video", " audio (DSF)", " audio (DSDIFF)")) or label.startswith(
        ("file of", "Monkey")
    ):
        return label
    first = label[:1]
    acronym = label[:2].isupper() and first in "FHLMNRSX" and not label.startswith(("FITS", "FLIC"))
    return ("an " if first in "AEIOU" or acronym else "a ") + label


def claim_mismatch(
    content_mime: str, *, filename: str | None = None, content_type: str | None = None
) -> str | None:
    """A message for the sender when the name or Content-Type contradicts the content, else None.

    `content_mime` is what the content is (from `sniff` or the inspection).
    Unknown extensions and generic types (application/octet-stream) claim nothing.
    """
    actual = family_of_type(content_mime)
    content = format_name(content_mime)
    for claimed, said in (
        (family_of_name(filename), f"The name “{filename}” says"),
        (family_of_type(content_type), f"The browser sent this file as {content_type}, which says"),
    ):
        if claimed is None or claimed == actual or (claimed, actual) in _COMPATIBLE:
            continue
        label = _FAMILIES[claimed][0]
        if actual is None:
            return f"{said} {label}, but the content is not {label}: its type is not recognised."
        return (
            f"{said} {label}, but the content is {_with_article(content)}. "
            "Rename the file or upload the right one."
        )
    return None


def name_claims_a_signature(filename: str | None) -> bool:
    """Whether the name claims a format whose files start with a signature the
    inspection recognises (PDF, EPUB, FLAC, PNG, JPEG, MP4...): content of no
    known type under such a name is no such file, and is refused."""
    return family_of_name(filename) in _FAMILIES
