"""image_processor (extra llmspell[media]): an image's format, size and mode (info), and new
images resized, converted to another format, or made into thumbnails, through Pillow. Both
paths pass the FILE gate before anything is read; images over 50 megapixels (decompression
bombs) and outputs over 20000 pixels a side are refused; targets are written atomically."""

from __future__ import annotations

import io

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

OPERATIONS = ("info", "resize", "convert", "thumbnail")
MAX_PIXELS = 50_000_000
MAX_SIDE = 20_000
FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF",
           "bmp": "BMP", "tiff": "TIFF", "tif": "TIFF"}  # fmt: skip
RESAMPLING = ("nearest", "bilinear", "bicubic", "lanczos")


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", OPERATIONS, "info")
    raw = params.text("path", required=True, aliases=("input", "source_path"))
    source = context.path(raw)
    target_raw = (
        None
        if operation == "info"
        else params.text("target_path", required=True, aliases=("output",))
    )
    target = None if target_raw is None else context.path(target_raw)
    if target is not None and target.exists() and not params.boolean("overwrite", False):
        raise ToolError(f"'{target_raw}' exists (overwrite = true replaces it)")
    try:
        size = source.stat().st_size
    except FileNotFoundError:
        raise ToolFailure(f"file not found: '{raw}'") from None
    context.check_size(raw, size)
    import warnings

    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():  # Pillow's bomb warning is our refusal, not a stderr line
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image: Any = Image.open(io.BytesIO(source.read_bytes()))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            image = None
        except UnidentifiedImageError as exc:
            raise ToolFailure(f"'{raw}' is not an image Pillow can read: {exc}") from None
    width, height = image.size if image is not None else (0, 0)
    if image is None or width * height > MAX_PIXELS:
        raise ToolError(f"'{raw}' has over {MAX_PIXELS} pixels (a decompression bomb?)")
    if operation == "info":
        info = {
            "path": raw,
            "format": image.format,
            "mode": image.mode,
            "width": width,
            "height": height,
            "size_bytes": size,
            "frames": getattr(image, "n_frames", 1),
            "has_alpha": image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info,
            "dpi": list(image.info["dpi"]) if "dpi" in image.info else None,
        }
        return ToolResponse(
            result=info,
            message=f"{raw}: {image.format} {width}x{height} {image.mode}",
            operation="info",
        )
    assert target is not None and target_raw is not None
    fmt = _format(params.text("format"), target_raw)
    resample = getattr(Image.Resampling, params.choice("resample", RESAMPLING, "lanczos").upper())
    try:
        image.load()
    except (OSError, Image.DecompressionBombError) as exc:
        raise ToolFailure(f"'{raw}' cannot be decoded: {exc}") from None
    if operation == "resize":
        new_size = _size(params, width, height)
        image = image.resize(new_size, resample)
    elif operation == "thumbnail":
        side = params.integer("max_size", 128)
        bound = (params.integer("width", side), params.integer("height", side))
        if not all(1 <= b <= MAX_SIDE for b in bound):
            raise ToolError(f"thumbnail bounds must be between 1 and {MAX_SIDE}")
        image.thumbnail(bound, resample)
    data = _encode(image, fmt, params)
    context.check_size(target_raw, len(data))
    from llmspell_kernel.tools.builtin.file_operations import _atomic_write

    target.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(target, data)
    out = {"path": raw, "target_path": target_raw, "format": fmt, "width": image.size[0],
           "height": image.size[1], "mode": image.mode, "bytes_written": len(data),
           "original": {"width": width, "height": height, "format": image.format or None}}  # fmt: skip
    return ToolResponse(
        result=out,
        message=f"wrote {target_raw}: {fmt} {image.size[0]}x{image.size[1]}",
        operation=operation,
    )


def _format(given: str | None, target: str) -> str:
    if given is None:
        given = target.rsplit(".", 1)[-1] if "." in target.rsplit("/", 1)[-1] else ""
    name = given.lower()
    if name not in FORMATS:
        raise ToolError(
            f"unknown image format '{name}' (give 'format' or a target name ending in "
            f"{', '.join('.' + f for f in FORMATS)})"
        )
    return FORMATS[name]


def _size(params: Params, width: int, height: int) -> tuple[int, int]:
    """width and/or height (the other keeps the aspect ratio), or scale."""
    scale = params.number("scale", None)
    new_w, new_h = params.integer("width", None), params.integer("height", None)
    if scale is not None:
        if scale <= 0:
            raise ToolError("parameter 'scale' must be above 0")
        new_w, new_h = round(width * scale), round(height * scale)
    elif new_w is None and new_h is None:
        raise ToolError("resize needs 'width', 'height' or 'scale'")
    elif new_w is None:
        new_w = round(width * new_h / height)
    elif new_h is None:
        new_h = round(height * new_w / width)
    if not (1 <= new_w <= MAX_SIDE and 1 <= new_h <= MAX_SIDE):
        raise ToolError(f"the new size {new_w}x{new_h} must be 1 to {MAX_SIDE} pixels a side")
    return new_w, new_h


def _encode(image: Any, fmt: str, params: Params) -> bytes:
    if fmt == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")  # JPEG has no alpha: flattened
    elif fmt in ("PNG", "WEBP", "GIF", "TIFF", "BMP") and image.mode in ("CMYK", "YCbCr"):
        image = image.convert("RGB")
    options: dict[str, Any] = {}
    quality = params.integer("quality", None)
    if quality is not None:
        if not 1 <= quality <= 100:
            raise ToolError("parameter 'quality' must be between 1 and 100")
        options["quality"] = quality
    out = io.BytesIO()
    try:
        image.save(out, format=fmt, **options)
    except (OSError, ValueError) as exc:
        raise ToolFailure(f"cannot write {fmt}: {exc}") from None
    return out.getvalue()
