"""Assets the API serves itself: /docs and the reports need no other host."""

from __future__ import annotations

import re

from api.assets import plotly_path


def test_docs_load_swagger_ui_from_the_api(client):
    page = client.get("/docs").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/docs/assets/") for s in sources), sources
    for source in sources:
        response = client.get(source)
        assert response.status_code == 200, source
        assert len(response.get_data()) > 1000
    assert client.get("/favicon.ico").mimetype == "image/png"


def test_plotly_is_served_once_with_long_caching(client):
    path = plotly_path()
    assert re.fullmatch(r"/assets/plotly-\d+\.\d+\.\d+\.min\.js", path)
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert "immutable" in response.headers["Cache-Control"]
    assert len(response.get_data()) > 3_000_000
    again = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/assets/plotly-0.0.0.min.js").status_code == 404
