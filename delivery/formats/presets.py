"""How each delivered format is made: ffmpeg arguments, a file extension, a tag style.

Gapless playback: MP3 gets a LAME/Xing header (encoder delay and padding),
AAC and ALAC in MP4 get an edit list, Vorbis and Opus carry their pre-skip
and granule positions in Ogg, FLAC and ALAC are lossless. Nothing else is
needed from the encoders.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.audio_formats import AUDIO_FORMAT_KEYS, AUDIO_FORMATS

# What a file needs to be transcoded: the original is lossless.
LOSSLESS_MIMES = frozenset({"audio/flac", "audio/wav", "audio/aiff"})
LOSSLESS_MP4_CODECS = frozenset({"alac"})


@dataclass(frozen=True, slots=True)
class Preset:
    key: str
    extension: str
    mime: str
    tags: str  # the tag system mutagen writes: vorbis, id3, mp4
    codec: tuple[str, ...]
    muxer: str
    stereo_only: bool = False

    @property
    def label(self) -> str:
        return str(dict(AUDIO_FORMATS)[self.key])

    def ffmpeg_args(self, *, channels: int | None) -> list[str]:
        args = list(self.codec)
        if self.stereo_only and channels and channels > 2:
            args += ["-ac", "2"]
        return [*args, "-f", self.muxer]


PRESETS: dict[str, Preset] = {
    preset.key: preset
    for preset in (
        Preset(
            "flac",
            "flac",
            "audio/flac",
            "vorbis",
            ("-c:a", "flac", "-compression_level", "8"),
            "flac",
        ),
        Preset("alac", "m4a", "audio/mp4", "mp4", ("-c:a", "alac"), "ipod"),
        Preset(
            "mp3-320",
            "mp3",
            "audio/mpeg",
            "id3",
            ("-c:a", "libmp3lame", "-b:a", "320k", "-write_xing", "1"),
            "mp3",
            stereo_only=True,
        ),
        Preset(
            "mp3-v0",
            "mp3",
            "audio/mpeg",
            "id3",
            ("-c:a", "libmp3lame", "-q:a", "0", "-write_xing", "1"),
            "mp3",
            stereo_only=True,
        ),
        Preset("aac-256", "m4a", "audio/mp4", "mp4", ("-c:a", "aac", "-b:a", "256k"), "ipod"),
        Preset(
            "vorbis-q6", "ogg", "audio/ogg", "vorbis", ("-c:a", "libvorbis", "-q:a", "6"), "ogg"
        ),
        Preset(
            "opus-160",
            "opus",
            "audio/ogg; codecs=opus",
            "vorbis",
            ("-c:a", "libopus", "-b:a", "160k", "-vbr", "on"),
            "opus",
        ),
    )
}
assert tuple(PRESETS) == AUDIO_FORMAT_KEYS, "a preset for every format a seller can offer"


def is_lossless(*, mime: str, codec: str | None) -> bool:
    """Whether a deliverable is lossless audio, so other formats can be made from it."""
    if mime in LOSSLESS_MIMES:
        return True
    return mime == "audio/mp4" and (codec or "").lower() in LOSSLESS_MP4_CODECS


def offered(*, formats: list[str] | None) -> list[Preset]:
    """The presets a product offers, in the catalogue's order; unknown keys are ignored."""
    chosen = set(formats or [])
    return [preset for key, preset in PRESETS.items() if key in chosen]
