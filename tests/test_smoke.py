"""The panel starts, signs a supervisor in, and shows every menu to them."""

from __future__ import annotations


def test_sign_in_and_home(client_as):  # type: ignore[no-untyped-def]
    client = client_as("supervisor")
    page = client.get("/admin/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for menu in ("Reference data", "Casework", "Concessionary seats", "Money", "Settings"):
        assert menu in body


def test_anonymous_is_sent_to_sign_in(app):  # type: ignore[no-untyped-def]
    response = app.test_client().get("/admin/school/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
