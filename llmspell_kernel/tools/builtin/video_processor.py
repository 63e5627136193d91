"""video_processor (extra llmspell[media]): upstream's operations (detect, metadata, thumbnail,
extract_frame; its thumbnail and frame extraction were left unimplemented there) plus
extract_audio, through PyAV, whose wheels carry FFmpeg's libraries (no ffmpeg binary needed).

Every path passes the FILE gate before FFmpeg opens anything. Only plain container demuxers are
allowed (`format_whitelist`): playlists and concat lists, which name other files FFmpeg would
open behind the gate, are refused. Images are encoded by FFmpeg's own PNG/MJPEG encoders and
audio is written as 16-bit PCM WAV, in memory, checked against tools.file_operations.
max_file_size, then written atomically."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

OPERATIONS = ("detect", "metadata", "info", "thumbnail", "extract_frame", "extract_audio")
MAX_INPUT_BYTES = 1024**3  # upstream's max_file_size for videos
MAX_SIDE = 8192  # the largest frame written, a side
MAX_DECODED_FRAMES = 20_000  # decoded from the keyframe before a timestamp, at most
# Upstream's format names by extension, and the FFmpeg demuxers this tool lets open a file.
EXTENSIONS = {".mp4": "mp4", ".m4v": "mp4", ".avi": "avi", ".mkv": "mkv", ".mov": "mov",
              ".webm": "webm", ".flv": "flv", ".wmv": "wmv", ".mpg": "mpeg", ".mpeg": "mpeg",
              ".ts": "mpegts", ".ogv": "ogg", ".3gp": "3gp", ".y4m": "y4m"}  # fmt: skip
SUPPORTED = ("mp4", "avi", "mkv", "mov", "webm")  # upstream's supported_formats
DEMUXERS = "mov,mp4,matroska,webm,avi,flv,asf,mpegts,mpeg,ogg,ivf,m4v,h264,hevc,yuv4mpegpipe"
IMAGE_FORMATS = {"png": "png", "jpg": "mjpeg", "jpeg": "mjpeg"}


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", OPERATIONS, "metadata")
    raw = params.text("file_path", required=True, aliases=("path", "input"))
    if not raw:
        raise ToolError("parameter 'file_path' cannot be empty")
    source = context.path(raw)
    if operation == "detect":
        return _detect(raw, source)
    target_raw = None
    if operation in ("thumbnail", "extract_frame", "extract_audio"):
        target_raw = params.text("target_path", required=True, aliases=("output",))
        target = context.path(target_raw)
        if target.exists() and not params.boolean("overwrite", False):
            raise ToolError(f"'{target_raw}' exists (overwrite = true replaces it)")
    size = _size(raw, source)
    with _open(raw, source) as container:
        if operation in ("metadata", "info"):
            meta = _metadata(container, source, size)
            return ToolResponse(
                result={"file_path": raw, "metadata": meta},
                message=_describe(meta),
                operation="metadata",
            )
        assert target_raw is not None
        if operation == "extract_audio":
            data, info = _audio(container, context.settings.max_file_size, target_raw)
        else:
            data, info = _frame(container, params, operation, target_raw)
    context.check_size(target_raw, len(data))
    from llmspell_kernel.tools.builtin.file_operations import _atomic_write

    target.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(target, data)
    info.update({"video_path": raw, "target_path": target_raw, "bytes_written": len(data)})
    return ToolResponse(result=info, message=_wrote(operation, raw, info), operation=operation)


def _detect(raw: str, source: Path) -> ToolResponse:
    name = EXTENSIONS.get(source.suffix.lower(), "unknown")
    container = None
    if source.is_file():
        try:
            with _open(raw, source) as opened:
                container = opened.format.name
        except ToolFailure:
            container = None
    result = {"file_path": raw, "format": name, "supported": name in SUPPORTED,
              "container": container}  # fmt: skip
    shown = f"Detected video format: {name}" + (f" (container {container})" if container else "")
    return ToolResponse(result=result, message=shown, operation="detect")


def _size(raw: str, source: Path) -> int:
    try:
        size = source.stat().st_size
    except FileNotFoundError:
        raise ToolFailure(f"file not found: '{raw}'") from None
    if size > MAX_INPUT_BYTES:
        raise ToolError(f"'{raw}' is {size} bytes, over the {MAX_INPUT_BYTES} bytes videos may be")
    return size


def _open(raw: str, source: Path) -> Any:
    """av.open's container (a context manager); FFmpeg's refusal becomes one line."""
    import av

    try:
        return av.open(
            str(source),
            options={"format_whitelist": DEMUXERS, "protocol_whitelist": "file"},
            timeout=30.0,
        )
    except av.FFmpegError as exc:
        raise ToolFailure(
            f"'{raw}' is not a video this tool reads (mp4/mov, mkv/webm, avi, flv, wmv, mpeg, "
            f"ogg): {exc.strerror or exc}"
        ) from None


def _metadata(container: Any, source: Path, size: int) -> dict[str, Any]:
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    duration = container.duration / 1_000_000 if container.duration else None
    meta: dict[str, Any] = {
        "format": EXTENSIONS.get(source.suffix.lower(), "unknown"),
        "container": container.format.name,
        "duration_seconds": None if duration is None else round(duration, 3),
        "file_size": size,
        "bit_rate": container.bit_rate or None,
        "resolution": None,
        "fps": None,
        "frames": None,
        "video_codec": None,
        "video_bitrate": None,
        "pixel_format": None,
        "audio_codec": None,
        "audio_bitrate": None,
        "audio_channels": None,
        "audio_sample_rate": None,
        "tags": {str(k): str(v)[:1000] for k, v in (container.metadata or {}).items()},
    }
    if video is not None:
        ctx = video.codec_context
        width, height = ctx.width, ctx.height
        rate = video.average_rate or video.guessed_rate
        meta.update(
            resolution={
                "width": width,
                "height": height,
                "name": _resolution_name(width, height),
                "aspect_ratio": _aspect(width, height),
            },  # fmt: skip
            fps=None if rate is None else round(float(rate), 3),
            frames=video.frames or None,
            video_codec=ctx.name,
            video_bitrate=video.bit_rate or ctx.bit_rate or None,
            pixel_format=ctx.pix_fmt,
        )
    if audio is not None:
        ctx = audio.codec_context
        meta.update(
            audio_codec=ctx.name,
            audio_bitrate=audio.bit_rate or ctx.bit_rate or None,
            audio_channels=ctx.layout.nb_channels if ctx.layout else None,
            audio_sample_rate=ctx.sample_rate or None,
        )
    return meta


def _resolution_name(width: int, height: int) -> str:
    """Upstream's names: 8K, 4K, 1440p, 1080p, 720p, 480p, 360p, else SD."""
    for w, h, name in ((7680, 4320, "8K"), (3840, 2160, "4K"), (2560, 1440, "1440p"),
                       (1920, 1080, "1080p"), (1280, 720, "720p"), (854, 480, "480p"),
                       (640, 360, "360p")):  # fmt: skip
        if width >= w and height >= h:
            return name
    return "SD"


def _aspect(width: int, height: int) -> str:
    import math

    divisor = math.gcd(width, height) or 1
    return f"{width // divisor}:{height // divisor}"


def _describe(meta: dict[str, Any]) -> str:
    parts = [f"Video file: {meta['format']} format ({meta['container']})"]
    resolution = meta["resolution"]
    if resolution:
        parts.append(f"Resolution: {resolution['width']}x{resolution['height']} ({resolution['name']})")  # fmt: skip
    if meta["duration_seconds"] is not None:
        parts.append(f"Duration: {meta['duration_seconds']:.1f}s")
    if meta["fps"]:
        parts.append(f"{meta['fps']:g} fps")
    parts.append(f"Size: {meta['file_size']} bytes")
    return ", ".join(parts)


def _frame(
    container: Any, params: Params, operation: str, target_raw: str
) -> tuple[bytes, dict[str, Any]]:
    if not container.streams.video:
        raise ToolFailure("the file has no video stream")
    codec = _image_codec(params.text("format"), target_raw)
    video = container.streams.video[0]
    duration = container.duration / 1_000_000 if container.duration else None
    default = 0.0
    shown_for = duration  # the video stream's own length (the container's may be the audio's)
    if video.duration and video.time_base:
        shown_for = float(video.duration * video.time_base)
    if operation == "thumbnail" and shown_for:
        default = round(min(shown_for * 0.1, 10.0), 3)  # past a black first frame, near the start
    at = params.number("timestamp_seconds", default, aliases=("timestamp",))
    if at < 0 or (duration is not None and at > duration):
        raise ToolError(
            f"parameter 'timestamp_seconds' must be between 0 and the video's "
            f"{round(duration or 0, 3)} s"
        )
    frame = _decode_at(container, video, at)
    if frame is None:
        raise ToolFailure(f"no frame could be decoded at {at} s")
    width, height = frame.width, frame.height
    if operation == "thumbnail":
        bound_w = params.integer("width", 320, aliases=("max_width",))
        bound_h = params.integer("height", 240, aliases=("max_height",))
        if not (1 <= bound_w <= MAX_SIDE and 1 <= bound_h <= MAX_SIDE):
            raise ToolError(f"thumbnail bounds must be between 1 and {MAX_SIDE}")
        scale = min(bound_w / width, bound_h / height, 1.0)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    elif width > MAX_SIDE or height > MAX_SIDE:
        raise ToolError(f"the frame is {width}x{height}, over {MAX_SIDE} pixels a side")
    data = _encode_image(frame, codec, width, height)
    shown = "png" if codec == "png" else "jpeg"
    time = None if frame.time is None else round(float(frame.time), 3)
    return data, {"timestamp_seconds": at, "frame_time": time, "width": width,
                  "height": height, "format": shown, "success": True}  # fmt: skip


def _image_codec(given: str | None, target: str) -> str:
    name = given
    if name is None:
        tail = target.rsplit("/", 1)[-1]
        name = tail.rsplit(".", 1)[-1] if "." in tail else ""
    codec = IMAGE_FORMATS.get(name.lower())
    if codec is None:
        raise ToolError(
            f"unknown image format '{name}' (give 'format' or a target name ending in "
            ".png, .jpg or .jpeg)"
        )
    return codec


def _decode_at(container: Any, video: Any, at: float) -> Any:
    """The first frame shown at or after `at` seconds (the last one when `at` is the end)."""
    if video.time_base and at > 0:
        container.seek(int(at / video.time_base), stream=video, backward=True)
    last = None
    for count, frame in enumerate(_frames(container, video)):
        last = frame
        if frame.time is None or frame.time >= at - 1e-6 or count >= MAX_DECODED_FRAMES:
            return frame
    return last


def _frames(container: Any, video: Any) -> Iterator[Any]:
    import av

    try:
        yield from container.decode(video)
    except av.FFmpegError as exc:
        raise ToolFailure(f"the video cannot be decoded: {exc.strerror or exc}") from None


def _encode_image(frame: Any, codec: str, width: int, height: int) -> bytes:
    import av

    pix_fmt = "rgb24" if codec == "png" else "yuvj420p"
    encoder: Any = av.CodecContext.create(codec, "w")  # a VideoCodecContext
    encoder.width, encoder.height, encoder.pix_fmt = width, height, pix_fmt
    if codec == "mjpeg":
        from fractions import Fraction

        encoder.time_base = Fraction(1, 25)
    picture = frame.reformat(width=width, height=height, format=pix_fmt)
    packets = encoder.encode(picture) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)


def _audio(container: Any, limit: int, target_raw: str) -> tuple[bytes, dict[str, Any]]:
    """The first audio stream, decoded and written as 16-bit PCM WAV."""
    if not target_raw.lower().endswith(".wav"):
        raise ToolError("extract_audio writes WAV: give a target_path ending in .wav")
    if not container.streams.audio:
        raise ToolFailure("the file has no audio stream")
    import av

    stream = container.streams.audio[0]
    rate = stream.codec_context.sample_rate
    layout = stream.codec_context.layout.name if stream.codec_context.layout else "stereo"
    buffer = io.BytesIO()
    out = av.open(buffer, "w", format="wav")
    encoder = out.add_stream("pcm_s16le", rate=rate, layout=layout)
    resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
    samples = 0
    try:
        for frame in container.decode(stream):
            for chunk in resampler.resample(frame):
                samples += chunk.samples
                for packet in encoder.encode(chunk):
                    out.mux(packet)
            if buffer.tell() > limit:
                raise ToolError(
                    f"the audio of '{target_raw}' is over tools.file_operations.max_file_size "
                    f"({limit} bytes)"
                )
        for chunk in resampler.resample(None):
            samples += chunk.samples
            for packet in encoder.encode(chunk):
                out.mux(packet)
        for packet in encoder.encode(None):
            out.mux(packet)
    except av.FFmpegError as exc:
        raise ToolFailure(f"the audio cannot be decoded: {exc.strerror or exc}") from None
    finally:
        out.close()
    channels = stream.codec_context.layout.nb_channels if stream.codec_context.layout else None
    info = {"codec": stream.codec_context.name, "sample_rate": rate, "channels": channels,
            "layout": layout,
            "duration_seconds": round(samples / rate, 3) if rate else None, "format": "wav",
            "success": True}  # fmt: skip
    return buffer.getvalue(), info


def _wrote(operation: str, raw: str, info: dict[str, Any]) -> str:
    if operation == "extract_audio":
        return f"Extracted audio ({info['duration_seconds']} s) from {raw} to {info['target_path']}"
    what = "thumbnail" if operation == "thumbnail" else "frame"
    return (
        f"Extracted {what} at {info['timestamp_seconds']}s from {raw} to {info['target_path']} "
        f"({info['width']}x{info['height']} {info['format']})"
    )
