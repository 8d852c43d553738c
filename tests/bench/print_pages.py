"""Pages of an audit workbook printed through LibreOffice: the whole book and each tab.

A measurement, not a test: it needs LibreOffice (`soffice`) and poppler (`pdfinfo`,
`pdftotext`, `pdftoppm`), which the test suite does not. The whole book is converted as
written (xlsx -> PDF, `soffice --headless --convert-to pdf`, what "print to PDF" gives); the
pages per tab come from a copy whose page header is the tab's name (LibreOffice prints hidden
sheets too, so hiding the others does not count one tab). With `--png DIR` the first
`--pages` pages of each tab are rendered (`pdftoppm -r 80`), to look at.

Run: uv run python tests/bench/print_pages.py AUDIT.xlsx [--png DIR --pages 2]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import zipfile
from pathlib import Path

_SHEET = re.compile(r'<sheet [^>]*?name="([^"]+)"[^>]*?/>')


def sheet_names(xlsx: Path) -> list[str]:
    with zipfile.ZipFile(xlsx) as z:
        return _SHEET.findall(z.read("xl/workbook.xml").decode())


_MARK = "@@{}@@"
_HF = re.compile(r"<headerFooter.*?(</headerFooter>|/>)", re.S)


def marked(xlsx: Path, out: Path) -> Path:
    """A copy of `xlsx` whose every page header is `@@<sheet name>@@` (LibreOffice's `&A`), so
    each printed page says which tab it belongs to. A header the sheet already has is replaced
    by the mark: a header takes the same room either way (the top margin holds it)."""
    hf = "<headerFooter><oddHeader>&amp;L@@&amp;A@@</oddHeader></headerFooter>"
    with zipfile.ZipFile(xlsx) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", item.filename):
                xml = _HF.sub("", data.decode())
                anchor = re.search(r"<pageSetup[^>]*/>|<pageMargins[^>]*/>", xml)
                at = anchor.end() if anchor else xml.index("</worksheet>")
                data = (xml[:at] + hf + xml[at:]).encode()
            dst.writestr(item, data)
    return out


def per_tab(pdf: Path, names: list[str]) -> dict[str, int]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    found = re.compile("|".join(re.escape(_MARK.format(n)) for n in names))
    counts = dict.fromkeys(names, 0)
    for page in text.split("\f"):
        m = found.search(page)
        if m:
            counts[m.group(0)[2:-2]] += 1
    return counts


def to_pdf(xlsx: Path, outdir: Path) -> Path:
    # a private profile per call: two soffice processes on one profile wait for each other
    profile = Path(tempfile.mkdtemp(prefix="lo-", dir=outdir))
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            str(xlsx),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return outdir / (xlsx.stem + ".pdf")


def pages(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    return int(re.search(r"^Pages:\s+(\d+)", out.stdout, re.M).group(1))  # type: ignore[union-attr]


def first_pages(pdf: Path, names: list[str]) -> dict[str, int]:
    """Each tab's first page number (1-based) in the marked PDF."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    first: dict[str, int] = {}
    for i, page in enumerate(text.split("\f"), start=1):
        for n in names:
            if _MARK.format(n) in page:
                first.setdefault(n, i)
    return first


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("xlsx", type=Path)
    ap.add_argument("--png", type=Path, help="render each tab's first pages here")
    ap.add_argument("--pages", type=int, default=1, help="how many pages of each tab (--png)")
    args = ap.parse_args()
    names = sheet_names(args.xlsx)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        whole = pages(to_pdf(args.xlsx, work))
        (work / "m").mkdir()
        pdf = to_pdf(marked(args.xlsx, work / "m" / args.xlsx.name), work / "m")
        counts = per_tab(pdf, names)
        if args.png:
            args.png.mkdir(parents=True, exist_ok=True)
            for i, (name, at) in enumerate(first_pages(pdf, names).items()):
                last = at + min(args.pages, counts[name]) - 1
                subprocess.run(
                    [
                        "pdftoppm",
                        "-r",
                        "80",
                        "-png",
                        "-f",
                        str(at),
                        "-l",
                        str(last),
                        str(pdf),
                        str(args.png / f"{i:02d}-{name}"),
                    ],
                    check=True,
                )
    width = max(len(n) for n in names)
    for name in names:
        print(f"{name:<{width}} {counts[name]:>4}")
    print(f"{'marked copy':<{width}} {sum(counts.values()):>4}  (pages with a tab's mark)")
    print(f"{'whole book':<{width}} {whole:>4}  (the file as written)")


if __name__ == "__main__":
    main()
