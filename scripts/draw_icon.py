"""Draw the integration's brand icon (a till printing a receipt, with a live-signal wave).

Our own drawing, not the PORTOS logo and nothing of Home Assistant's branding. Run
`.venv/bin/python scripts/draw_icon.py` to regenerate `custom_components/portos/brand/icon.png`
(256 px) and `icon@2x.png` (512 px). As the brands rules ask, the images are trimmed to the
artwork (it touches all four edges), square, on a transparent background, and optimized PNGs.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BRAND_DIR = Path(__file__).resolve().parents[1] / "custom_components" / "portos" / "brand"
# Drawn on a 256-unit grid, supersampled, then reduced: Pillow's shapes have no antialiasing.
GRID = 256
SUPERSAMPLE = 4
# The drawing's outline is square to within this share of its side before the crop.
SQUARE_TOLERANCE = 0.01

# The till's outer edges: with the wave's top and right they make the artwork's square outline.
TILL_LEFT = 20.0
TILL_BOTTOM = 241.0

NAVY = (27, 54, 93, 255)
NAVY_LIGHT = (52, 88, 138, 255)
PAPER = (255, 255, 255, 255)
INK = (150, 164, 184, 255)
ACCENT = (33, 150, 243, 255)  # the "live" wave and the display (not Home Assistant's blue)
GREEN = (76, 175, 80, 255)


def draw_artwork(size: int) -> Image.Image:
    """Return the drawing, not yet trimmed, on a transparent canvas of size x size pixels."""
    canvas = size * SUPERSAMPLE
    scale = canvas / GRID
    image = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        """Scale a grid box to canvas pixels."""
        return (round(x0 * scale), round(y0 * scale), round(x1 * scale), round(y1 * scale))

    def width(units: float) -> int:
        """Scale a line width to canvas pixels."""
        return max(1, round(units * scale))

    # The receipt, torn edge at the top, coming out of the till's slot.
    top, left, right, bottom = 44.0, 70.0, 166.0, 168.0
    teeth = 6
    tooth = (right - left) / teeth
    outline = [(left, bottom), (left, top + 8)]
    for i in range(teeth):
        outline += [(left + tooth * (i + 0.5), top), (left + tooth * (i + 1), top + 8)]
    outline += [(right, bottom)]
    pen.polygon([(x * scale, y * scale) for x, y in outline], fill=PAPER)
    pen.line([(x * scale, y * scale) for x, y in outline], fill=NAVY, width=width(5), joint="curve")
    # Printed lines: items, then a bold total.
    for length, y in ((40, 70), (28, 86), (36, 102), (22, 118)):
        pen.rounded_rectangle(box(84, y, 84 + length, y + 7), radius=width(3), fill=INK)
        pen.rounded_rectangle(box(134, y, 152, y + 7), radius=width(3), fill=INK)
    pen.rounded_rectangle(box(84, 136, 152, 146), radius=width(4), fill=NAVY_LIGHT)

    # The till: a body with a slot the receipt comes out of, keys and a drawer.
    pen.rounded_rectangle(box(TILL_LEFT, 156, 244, TILL_BOTTOM), radius=width(18), fill=NAVY)
    pen.rounded_rectangle(box(58, 152, 178, 164), radius=width(6), fill=NAVY_LIGHT)
    for column in range(3):
        for row in range(2):
            x = 50 + column * 24
            y = 178 + row * 20
            pen.rounded_rectangle(box(x, y, x + 16, y + 12), radius=width(3), fill=NAVY_LIGHT)
    pen.rounded_rectangle(box(146, 178, 220, 214), radius=width(6), fill=ACCENT)
    pen.ellipse(box(177, 190, 189, 202), fill=PAPER)

    # The live connection: a dot and three waves in the top-right corner.
    cx, cy = 186.0, 70.0
    pen.ellipse(box(cx - 9, cy - 9, cx + 9, cy + 9), fill=GREEN)
    for radius in (22, 38, 54):
        pen.arc(
            box(cx - radius, cy - radius, cx + radius, cy + radius),
            start=-80,
            end=10,
            fill=ACCENT,
            width=width(9),
        )
    return image


def draw(size: int) -> Image.Image:
    """Return the icon: the artwork trimmed to its outline, at size x size pixels."""
    artwork = draw_artwork(size)
    bbox = artwork.getchannel("A").getbbox()
    if bbox is None:
        raise ValueError("the drawing is empty")
    left, top, right, bottom = bbox
    width, height = right - left, bottom - top
    if abs(width - height) > SQUARE_TOLERANCE * max(width, height):
        # Stretching would distort it and padding would leave empty edges: fix the layout.
        raise ValueError(f"the artwork is {width}x{height}, not square: change the layout")
    side = max(width, height)
    # Centre the (at most 1 % longer) side's slack; nothing but artwork is left around it.
    left -= (side - width) // 2
    top -= (side - height) // 2
    trimmed = artwork.crop((left, top, left + side, top + side))
    return trimmed.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write icon.png (256 px) and icon@2x.png (512 px) into the integration's brand dir."""
    BRAND_DIR.mkdir(parents=True, exist_ok=True)
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        path = BRAND_DIR / name
        draw(size).save(path, optimize=True, compress_level=9)
        print(f"wrote {path} ({size}x{size})")


if __name__ == "__main__":
    main()
