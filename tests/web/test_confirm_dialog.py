"""The shared confirmation panel (``{% confirm_dialog %}``) every destructive page action answers with."""

from __future__ import annotations

from html.parser import HTMLParser

from django.template import Context, Template


class _Form(HTMLParser):
    """Collects what a browser would submit from the panel's form, and its action and labels."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action: str | None = None
        self.links: list[str] = []
        self.in_form = False
        self.textarea: str | None = None
        self.alert: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("role") == "alertdialog":
            self.alert = a
        if tag == "form":
            self.in_form = True
            self.action = a.get("action")
        elif tag == "input" and self.in_form and a.get("name"):
            self.fields[a["name"] or ""] = a.get("value") or ""
        elif tag == "textarea" and self.in_form:
            self.textarea = a.get("name")
        elif tag == "a":
            self.links.append(a.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        if tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] = data


def _render(source: str, **context: object) -> str:
    return Template("{% load ui %}" + source).render(Context({"csrf_token": "tok123", **context}))


def test_panel_posts_confirm_yes_with_the_token_and_the_hidden_fields_of_its_body():
    html = _render(
        '{% confirm_dialog "confirm-x" title=ask yes="Yes, do it" cancel="/back/" action="/do/" %}'
        '<p>Explained.</p><input type="hidden" name="team" value="7"><textarea name="c" hidden>{{ typed }}</textarea>'
        "{% endconfirm_dialog %}",
        ask="Really?",
        typed="kept <text>",
    )
    form = _Form()
    form.feed(html)

    assert form.action == "/do/"
    assert form.fields == {"csrfmiddlewaretoken": "tok123", "confirm": "yes", "team": "7", "c": "kept <text>"}
    assert form.links == ["/back/"]
    assert form.alert["data-testid"] == "confirm-x"
    assert form.alert["aria-labelledby"] == "confirm-x-title"
    assert '<p id="confirm-x-title"><strong>Really?</strong></p>' in html
    assert "Explained." in html
    assert "Yes, do it" in html
    assert ">Cancel</a>" in html


def test_panel_without_action_posts_to_the_page_itself_and_escapes_a_plain_title():
    html = _render(
        '{% confirm_dialog "confirm-y" title=ask yes="Go" cancel=back css="card narrow" %}{% endconfirm_dialog %}',
        ask="<b>Deal</b> & co?",
        back="?a=1&b=2",
    )
    form = _Form()
    form.feed(html)

    assert form.action is None
    assert "&lt;b&gt;Deal&lt;/b&gt; &amp; co?" in html
    assert 'href="?a=1&amp;b=2"' in html
    assert 'class="card narrow form-errors"' in html
