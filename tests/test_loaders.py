from pathlib import Path

import pytest
from conftest import SEEDS

from rag.loaders import LoadError, SourceFile, decode_text, find_dateline, find_title, iter_files, load_document, read_bytes
from rag.markup import clean_markup


def load(path: Path, root: Path):
    return load_document(SourceFile(path, path.relative_to(root).as_posix()), path.read_bytes())


def test_seed_titles_and_dates_come_from_the_text():
    documents = {source.rel: load(source.path, SEEDS) for source in iter_files(SEEDS)}
    second = documents["000_0220f7c6bd20be88.txt"]
    first = documents["001_b8239f67380c7682.txt"]
    assert second.title == "Second Short Course for Chief Secretaries for City and County Party Committees Held"
    assert second.date == "2024-01-30"
    assert first.title.startswith("Occasion for Important Turn in Strengthening Regional Bases")
    assert first.date == "2021-03-04"


def test_markup_is_cleaned_but_every_clean_character_maps_back_to_the_raw_text():
    raw = "4<sup>th</sup>March, **Kim Jong Un** said a\\_b &amp; [link](http://x.org)\n\\_\\_\\_\\_\n# Head"
    clean = clean_markup(raw)
    assert clean.text == "4thMarch, Kim Jong Un said a_b & link\n\nHead"
    for position, char in enumerate(clean.text):
        source = raw[clean.starts[position] : clean.ends[position]]
        assert source == char or source in ("\\_", "&amp;")
    start, end = clean.raw_span(clean.text.index("Kim"), clean.text.index("Un") + 2)
    assert raw[start:end] == "Kim Jong Un"


def test_paired_underscores_are_bold_but_code_keeps_them():
    assert clean_markup("a __bold__ b, window.__xss=1").text == "a bold b, window.__xss=1"


@pytest.mark.parametrize(
    ("data", "encoding", "expected"),
    [
        ("Le café était très célèbre à Pyongyang, où l'on déjeunait. ".encode("latin-1"), "cp1252", "très célèbre à"),
        ("Москва — столица России, крупнейший город страны. ".encode("cp1251"), "cp1251", "столица России"),
        ("Café du monde".encode("utf-16"), "utf-16", "Café du monde"),
        ("\ufeffhello BOM".encode(), "utf-8", "hello BOM"),
    ],
)
def test_encodings_are_detected(data: bytes, encoding: str, expected: str):
    text, detected = decode_text(data * 3)
    assert expected in text
    assert not text.startswith("\ufeff")
    assert detected == encoding


def test_binary_empty_and_unsupported_files_are_refused_with_a_reason(tmp_path: Path):
    (tmp_path / "blob.txt").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "empty.md").write_text("   \n\t\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG....")
    reasons = {}
    for source in iter_files(tmp_path):
        try:
            load_document(source, read_bytes(source, 10_000_000))
        except LoadError as error:
            reasons[source.rel] = str(error)
    assert "binary" in reasons["blob.txt"]
    assert "empty" in reasons["empty.md"]
    assert "unsupported file type .png" in reasons["image.png"]


def test_hidden_files_are_skipped_and_folders_walked_recursively(tmp_path: Path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.md").write_text("deep")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.txt").write_text("x")
    (tmp_path / ".secret.txt").write_text("x")
    (tmp_path / "loop").symlink_to(tmp_path)
    assert [source.rel for source in iter_files(tmp_path)] == ["a/b/deep.md"]


def test_html_title_and_text(tmp_path: Path):
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>The Title</title><script>alert(1)</script></head>"
                    "<body><p>Hello &amp; welcome</p></body></html>")
    document = load(page, tmp_path)
    assert document.title == "The Title"
    assert "alert" not in document.parsed.text
    assert "Hello & welcome" in document.parsed.text


def test_pdf_text_is_extracted(tmp_path: Path):
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(_minimal_pdf("Pyongyang hosted the course in March"))
    document = load(pdf, tmp_path)
    assert "Pyongyang hosted the course" in document.text
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(LoadError, match="PDF"):
        load(broken, tmp_path)


def test_date_and_title_heuristics():
    assert find_dateline(["Pyongyang, March 4, 2021 (KCNA)"]) == "2021-03-04"
    assert find_dateline(["Published 2020-12-31", "Printed Jan. 5, 2021"]) == "2020-12-31"
    assert find_dateline(["no date here"]) is None
    # a date inside a sentence is not the document's own date: a biography states a birth date
    assert find_dateline(["Ada Lovelace", "Augusta Ada King was born on 10 December 1815 in London, England."]) is None


def test_titles_come_from_headings_of_any_length_and_dates_from_where_documents_state_them(tmp_path: Path):
    (tmp_path / "start.md").write_text("# Getting Started\n\nBorn on 10 December 1815, she wrote notes.\n")
    (tmp_path / "page.html").write_text('<html><head><title>Intro — Site</title><meta name="date" content="2023-05-06">'
                                        "</head><body><h1>Intro</h1><p>In 1815, on 10 December, a birth.</p></body></html>")
    (tmp_path / "front.md").write_text("---\ntitle: Notes\ndate: 2022-02-03\n---\n\nText of March 4, 2021.\n")
    assert (load(tmp_path / "start.md", tmp_path).title, load(tmp_path / "start.md", tmp_path).date) == ("Getting Started", None)
    assert (load(tmp_path / "page.html", tmp_path).title, load(tmp_path / "page.html", tmp_path).date) == ("Intro", "2023-05-06")
    assert (load(tmp_path / "front.md", tmp_path).title, load(tmp_path / "front.md", tmp_path).date) == ("Notes", "2022-02-03")
    assert find_title(["Nov. 27, 2024", "Masthead", "A Real Headline Of Four Words"]) == "A Real Headline Of Four Words"


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with one line of text, with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
