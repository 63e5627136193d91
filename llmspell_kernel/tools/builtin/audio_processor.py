"""audio_processor (extra llmspell[media]): an audio file's metadata only (format, duration,
bitrate, sample rate, channels, tags) through mutagen, which parses MP3, FLAC, Ogg, Opus, MP4/M4A,
WAV, AIFF and more in pure Python; nothing is decoded or written. The path passes the FILE gate
before the file is opened."""

from __future__ import annotations

from llmspell_kernel.tools.base import Params, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

MAX_TAG_TEXT = 1000  # characters of one tag value shown (cover art and the like are left out)


def run(params: Params, context: Any) -> ToolResponse:
    params.choice("operation", ("info", "metadata"), "info")  # metadata is all it reads
    raw = params.text("path", required=True, aliases=("input", "file"))
    path = context.path(raw)
    if not path.is_file():
        raise ToolFailure(f"file not found: '{raw}'")
    import mutagen

    try:
        audio = mutagen.File(path, options=_likely(path.suffix.lower()))
    except mutagen.MutagenError as exc:
        raise ToolFailure(f"'{raw}' cannot be read: {exc}") from None
    if audio is None and _BY_EXTENSION.get(path.suffix.lower()):
        audio = mutagen.File(path)  # named .wav but something else: every format is tried
    if audio is None:
        raise ToolFailure(f"'{raw}' is not an audio format mutagen knows")
    info = audio.info
    result: dict[str, Any] = {
        "path": raw,
        "format": type(audio).__name__,
        "mime": audio.mime[0] if audio.mime else None,
        "duration_seconds": round(float(getattr(info, "length", 0.0) or 0.0), 3),
        "bitrate": getattr(info, "bitrate", None) or None,
        "sample_rate": getattr(info, "sample_rate", None),
        "channels": getattr(info, "channels", None),
        "bits_per_sample": getattr(info, "bits_per_sample", None),
        "size_bytes": path.stat().st_size,
        "tags": _tags(audio.tags),
    }
    return ToolResponse(
        result=result,
        message=f"{raw}: {result['format']}, {result['duration_seconds']} s, "
        f"{result['channels']} channels, {result['sample_rate']} Hz",
        operation="info",
    )


# The mutagen class a file name suggests: mutagen.File imports every format's module to guess
# (~60 ms); by extension one module loads (a wrong guess falls back to all of them).
_BY_EXTENSION = {
    ".mp3": ("mutagen.mp3", "MP3"),
    ".flac": ("mutagen.flac", "FLAC"),
    ".ogg": ("mutagen.oggvorbis", "OggVorbis"),
    ".oga": ("mutagen.oggvorbis", "OggVorbis"),
    ".opus": ("mutagen.oggopus", "OggOpus"),
    ".m4a": ("mutagen.mp4", "MP4"),
    ".mp4": ("mutagen.mp4", "MP4"),
    ".aac": ("mutagen.aac", "AAC"),
    ".wav": ("mutagen.wave", "WAVE"),
    ".aif": ("mutagen.aiff", "AIFF"),
    ".aiff": ("mutagen.aiff", "AIFF"),
    ".wma": ("mutagen.asf", "ASF"),
}


def _likely(extension: str) -> Any:
    """[the class for this extension], or None (mutagen then tries every format)."""
    found = _BY_EXTENSION.get(extension)
    if found is None:
        return None
    import importlib

    return [getattr(importlib.import_module(found[0]), found[1])]


def _tags(tags: Any) -> dict[str, Any]:
    """Tag name -> text (or a list of texts); binary frames (pictures) are left out."""
    if not tags:
        return {}
    out: dict[str, Any] = {}
    for key in tags.keys():  # noqa: SIM118 - Vorbis comments iterate as (key, value) pairs
        value = tags[key]
        texts = getattr(value, "text", value)
        items = texts if isinstance(texts, list) else [texts]
        shown = [str(item)[:MAX_TAG_TEXT] for item in items if not isinstance(item, bytes)]
        if shown and not any(isinstance(item, bytes | bytearray) for item in items):
            out[str(key)] = shown[0] if len(shown) == 1 else shown
    return out
