"""One composer builds every email: subject, plain text and MJML-compiled HTML, headers."""

import email
import email.policy
from pathlib import Path

from django.conf import settings
from django.core import mail

from digest import mail as composer


def notice(**context):
    defaults = {"title": "Hello", "paragraphs": ["First."], "action_url": "", "action_label": ""}
    return composer.compose("notice", to="reader@example.org", context={**defaults, **context})


def test_message_has_plain_text_and_html_alternatives():
    message = notice(title="Your account", paragraphs=["One.", "Two."])
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert "One." in text and "Two." in text
    assert "One." in html and "<html" in html
    assert parsed["Subject"] == "Your account"
    assert parsed["Message-ID"].endswith("@localhost>")
    assert parsed["Date"]


def test_mjml_is_compiled_once_per_template_not_per_recipient():
    composer.compiled_html.cache_clear()
    for n in range(3):
        composer.compose(
            "notice", to=f"r{n}@example.org", context={"title": str(n), "paragraphs": []}
        )
    assert composer.compiled_html.cache_info().misses == 1
    assert composer.compiled_html.cache_info().hits == 2


def test_hostile_text_is_escaped_in_html_and_left_alone_in_plain_text():
    message = notice(
        title="<script>alert(1)</script>", paragraphs=['"><img src=x onerror=alert(1)>']
    )
    html = message.alternatives[0][0]
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert '"><img src=x onerror=alert(1)>' in message.body


def test_subject_is_folded_to_one_line():
    assert notice(title="A\nmultiline\n  title").subject == "A multiline title"


def test_send_delivers_through_the_configured_backend():
    message_id = composer.send(
        "notice", to="reader@example.org", context={"title": "Hi", "paragraphs": []}
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == message_id


def test_footer_links_appear_only_when_given():
    plain = notice().alternatives[0][0]
    assert "Unsubscribe" not in plain
    with_links = notice(
        manage_url="https://x.test/m", unsubscribe_url="https://x.test/u"
    ).alternatives[0][0]
    assert 'href="https://x.test/u"' in with_links and "Manage subscriptions" in with_links


def test_a_line_over_998_octets_goes_out_quoted_printable_in_short_lines():
    long_paragraph = " ".join(["word"] * 600)  # one 3,000-character line
    message = notice(paragraphs=[long_paragraph])
    wire = message.message().as_bytes(linesep="\r\n")
    assert max(len(line) for line in wire.split(b"\r\n")) <= 998
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    html = parsed.get_body(("html",))
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    assert long_paragraph in html.get_content()


def test_no_email_loads_anything_from_a_third_party():
    # MJML links Google Fonts for a font it knows (Roboto is in our font stack): every open of
    # every email would then be seen by Google. The system fonts need no link.
    names = sorted(
        path.name.removesuffix("-body.mjml")
        for path in (Path(settings.BASE_DIR) / "templates" / "emails").glob("*-body.mjml")
    )
    assert "digest" in names
    for name in names:
        html = composer.compiled_html(name).source
        assert "googleapis" not in html, name
        assert "<link" not in html and "@import" not in html, name


def test_a_digest_goes_out_8bit_because_the_compiled_layout_has_short_lines():
    """MJML writes its layout on lines of thousands of characters; broken after block tags once
    at compile time, the HTML part needs no quoted-printable (pure-Python encoding, paid per
    message) and reads the same."""
    html = composer.compiled_html("digest").source
    assert max(len(line.encode()) for line in html.splitlines()) <= 998
    assert composer.break_lines('<tr><td style="x"><a href="#">A</a></td></tr>') == (
        '<tr>\n<td style="x">\n<a href="#">A</a></td>\n</tr>'
    )
