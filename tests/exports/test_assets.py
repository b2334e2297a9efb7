"""The stylesheet and fonts come from allow-listed folders only; the running
header and footer are CSS strings escaped whatever they hold."""

import importlib.util
from pathlib import Path

import pytest
import tinycss2

from disclosure.exports import assets


def test_a_name_outside_the_allow_listed_folder_is_refused():
    with pytest.raises(assets.AssetError, match="outside"):
        assets._inside(assets.STYLE_DIR, "../../disclosure/settings.py")
    with pytest.raises(assets.AssetError, match="outside"):
        assets._inside(assets.FONT_DIR, "/etc/passwd")
    with pytest.raises(assets.AssetError, match="missing"):
        assets._inside(assets.STYLE_DIR, "nope.css")


def test_fonts_are_embedded_as_data_urls_only():
    import re

    css = assets.font_faces()
    urls = re.findall(r"url\(\s*[\"']?([^\"')]*)", css)
    assert len(urls) == len(assets.FONTS)
    assert all(u.startswith("data:font/ttf;base64,") for u in urls)


@pytest.mark.parametrize(
    "value",
    ['"; } @import url(http://127.0.0.1/x.css); .x { content: "', 'a\\"b\n}', "ü€\u202e"],
)
def test_css_strings_are_escaped(value):
    quoted = assets.css_string(value)
    inner = quoted[1:-1]
    assert quoted[0] == quoted[-1] == '"'
    assert not set(inner) & set('"\n;{}() ')
    tokens = tinycss2.parse_component_value_list(quoted)
    assert [t.type for t in tokens] == ["string"] and tokens[0].value == value


def test_check_system_knows_the_export_fonts():
    path = Path(__file__).resolve().parents[2] / "scripts" / "check_system.py"
    spec = importlib.util.spec_from_file_location("check_system", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert str(assets.FONT_DIR) == module.EXPORT_FONT_DIR
    assert set(module.EXPORT_FONTS) == {name for _, _, name in assets.FONTS}
    assert module.EXPORT_FONT_PACKAGE == assets.FONT_PACKAGE
    assert module.missing_fonts() == []
