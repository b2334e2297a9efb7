"""The stylesheet and fonts of the export, read only from allow-listed folders.

- CSS: ``static/exports/`` of the project (``STYLE_DIR``).
- Fonts: DejaVu Sans and DejaVu Sans Mono from Debian's ``fonts-dejavu-core``
  (``FONT_DIR``), embedded in the stylesheet as ``data:`` URLs, the only
  scheme the renderer fetches. A name that resolves outside its folder is
  refused.

The running header and footer (reference, TLP, chain head) are CSS strings
built here from values that are escaped for CSS, whatever they hold.
"""

import base64
from functools import lru_cache
from pathlib import Path

from django.conf import settings

STYLE_DIR = Path(settings.BASE_DIR) / "static" / "exports"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = (
    ("Export Sans", "normal", "DejaVuSans.ttf"),
    ("Export Sans", "bold", "DejaVuSans-Bold.ttf"),
    ("Export Mono", "normal", "DejaVuSansMono.ttf"),
    ("Export Mono", "bold", "DejaVuSansMono-Bold.ttf"),
)
FONT_PACKAGE = "fonts-dejavu-core"


class AssetError(RuntimeError):
    """A stylesheet or font is missing or outside its allow-listed folder."""


def _inside(folder: Path, name: str) -> Path:
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise AssetError(f"{name!r} is outside the allow-listed folder {folder}")
    if not path.is_file():
        hint = f" (install the Debian package {FONT_PACKAGE})" if folder == FONT_DIR else ""
        raise AssetError(f"{path} is missing{hint}")
    return path


@lru_cache(maxsize=4)
def stylesheet(name: str = "export.css") -> str:
    return _inside(STYLE_DIR, name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def font_faces() -> str:
    rules = []
    for family, weight, file_name in FONTS:
        data = base64.b64encode(_inside(FONT_DIR, file_name).read_bytes()).decode("ascii")
        rules.append(
            f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
            f'src: url("data:font/ttf;base64,{data}"); }}'
        )
    return "\n".join(rules)


def css_string(value: str) -> str:
    """``value`` as a quoted CSS string: every character that is not an
    ASCII letter or digit is a six-digit CSS escape (never followed by a
    space, which the escape would swallow)."""
    out = []
    for ch in str(value):
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):06x}")
    return '"' + "".join(out) + '"'


TLP_COLOURS = {"red": "#ff2b2b", "amber": "#ffc000", "green": "#33ff00", "clear": "#ffffff"}


PAGE_NUMBERS = 'content: "page " counter(page) " of " counter(pages);'


def numbers_only_css() -> str:
    """The margin boxes of the page-number stamp: "page X of Y" alone, where
    the document's own footer leaves room for it, taken from each stamp
    page's hidden ``p.pn`` (so that stamp pages can be rendered in chunks)."""
    return (
        "p.pn { string-set: pn content(); visibility: hidden; margin: 0; height: 0; }"
        " @page { @top-left { content: none; } @top-right { content: none; }"
        " @bottom-left { content: none; } @bottom-right { content: string(pn); } }"
    )


def running_css(*, reference: str, tlp: str, tlp_class: str, head: str, numbered: bool) -> str:
    """The margin boxes: reference and TLP at the top, the chain head and
    (when ``numbered``) "page X of Y" at the bottom."""
    colour = TLP_COLOURS.get(tlp_class, "#ffffff")
    pages = PAGE_NUMBERS if numbered else ""
    return (
        "@page {"
        f" @top-left {{ content: {css_string(reference)}; }}"
        f" @top-right {{ content: {css_string(tlp)}; color: {colour}; background: #000;"
        " padding: 0.6mm 2mm; }"
        f" @bottom-left {{ content: {css_string('Chain head ' + head)}; }}"
        f" @bottom-right {{ {pages} }}"
        " }"
    )
