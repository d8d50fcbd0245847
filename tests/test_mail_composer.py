"""One composer builds every email: subject, plain text and MJML-compiled HTML, headers."""

import email
import email.policy

import pytest
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


def test_folding_cuts_only_the_long_lines_and_only_at_spaces():
    short = "<p>short line</p>"
    long_words = " ".join(["word"] * 30)  # 149 characters
    unbreakable = "x" * 60
    html = "\n".join([short, long_words, short, unbreakable, long_words])
    folded = composer.fold_long_lines(html, width=50)
    lines = folded.split("\n")
    assert lines[0] == short and unbreakable in lines  # left as they were
    assert all(len(line) <= 50 for line in lines if line != unbreakable)
    assert folded.replace("\n", " ") == html.replace("\n", " ")  # spaces became newlines
    assert composer.fold_long_lines(short, width=50) is short  # nothing to do, no copy


def test_long_lines_are_folded_so_the_html_goes_out_unencoded():
    long_paragraph = " ".join(["word"] * 600)  # one 3,000-character line
    message = notice(paragraphs=[long_paragraph])
    html = message.alternatives[0][0]
    assert max(len(line) for line in html.split("\n")) <= composer.MAX_LINE
    assert long_paragraph in " ".join(html.split())
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
    assert parsed.get_body(("html",))["Content-Transfer-Encoding"] in ("7bit", "8bit")


def test_fast_serialisation_says_exactly_what_the_email_generator_says():
    import re

    from django.core.mail import EmailMultiAlternatives

    message = notice(title="Ünïcode — “quotes”", paragraphs=["Ça marche.\nLine two.", "x" * 300])
    message.to = ["Zoë Reader <zoe@example.org>"]
    wire = message.message().as_bytes(linesep="\r\n")
    assert composer.wire_bytes(message) is not None
    # Django's own MIME tree through email.generator, with the same (random) boundary.
    mime = EmailMultiAlternatives.message(message)
    mime.set_boundary(re.search(rb'boundary="([^"]+)"', wire).group(1).decode())
    assert wire == mime.as_bytes(linesep="\r\n")
    assert b"\r\n" in wire and b"\n" not in wire.replace(b"\r\n", b"")


def same_as_django(message) -> bytes:
    """``message`` on the wire, checked against Django's MIME tree with the same boundary."""
    import re

    from django.core.mail import EmailMultiAlternatives

    wire = message.message().as_bytes(linesep="\r\n")
    mime = EmailMultiAlternatives.message(message)
    mime.set_boundary(re.search(rb'boundary="([^"]+)"', wire).group(1).decode())
    assert wire == mime.as_bytes(linesep="\r\n")
    return wire


def test_lines_up_to_998_bytes_go_out_as_they_are_longer_ones_as_django_encodes_them():
    for line, fits in [
        ("x" * 998, True),
        ("x" * 999, False),
        ("é" * 499, True),  # 998 bytes in UTF-8
        ("é" * 500, False),
        ("short\n" * 400 + "x" * 998, True),
        ("short\n" * 400 + "x" * 999 + "\nshort", False),
    ]:
        message = notice(paragraphs=["First."])
        message.body = f"{line}\nend"
        assert (composer.wire_bytes(message) is not None) == fits, line[:20]
        same_as_django(message)


def test_carriage_returns_in_a_body_go_out_as_django_writes_them():
    message = notice(paragraphs=["First."])
    message.body = "Windows\r\nline ends\r\nand a lone\rCR\r\r\n"
    assert composer.wire_bytes(message) is not None
    wire = same_as_django(message)
    assert b"Windows\r\nline ends\r\nand a lone\r\nCR\r\n\r\n" in wire


@pytest.mark.parametrize("boundary", ["=" * 15 + "42==", "b" * 70])
def test_a_boundary_of_another_shape_is_folded_as_django_folds_it(monkeypatch, boundary):
    import email.generator

    monkeypatch.setattr(
        email.generator.Generator, "_make_boundary", classmethod(lambda cls, t=None: boundary)
    )
    wire = same_as_django(notice(paragraphs=["First."]))
    assert boundary.encode() in wire
