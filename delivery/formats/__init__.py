"""Other formats of a lossless music file, made once in the worker and kept.

A buyer asks for a file in a format (a *preset*, ``presets.PRESETS``); the
first request makes a :class:`~delivery.formats.models.Rendition` keyed by the
source's SHA-256 and the preset, and a task transcodes it with ffmpeg
(``transcode``), carries the tags and cover over with mutagen, and stores the
result in the private storage. Every later buyer of the same bytes gets the
stored file at once. The buyer's page polls with a plain refresh (no script
under the CSP) and shows the progress; a buyer who left gets an email.
"""
