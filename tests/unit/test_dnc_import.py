"""Do-not-call entries read from files: every way of reading keys a number as zones.e164 does."""

from __future__ import annotations

from eslbridge.dnc_import import Chunk, file_chunks, key_of, plain_chunks
from eslbridge.phones import Normaliser
from eslbridge.zones import e164

RAW = ["13800000001", "138-0000-0002", "+86 138 0000 0003", "010-1234-5678", "+1 212 555 0123", "not a phone", ""]


def keys(chunk: Chunk) -> list[str]:
    """The phones of a chunk's staging lines: alone (a plain file's), or second of four (a CSV's)."""
    if chunk.phones_only:
        return chunk.text.splitlines()
    return [line.split("\t")[1] for line in chunk.text.splitlines()]


def test_a_plain_file_and_a_csv_key_every_number_as_e164(tmp_path):
    phones = Normaliser("CN")
    expected = [e164(p, "CN") for p in (phones.normalise(r) for r in RAW) if p]
    assert expected == ["+8613800000001", "+8613800000002", "+8613800000003", "+861012345678", "+12125550123"]
    plain = tmp_path / "plain.txt"
    plain.write_text("\n".join(RAW) + "\n")
    [chunk] = list(file_chunks(plain, phones))
    assert keys(chunk) == expected and chunk.entries == 5 and chunk.phones_only
    assert chunk.bad == [(6, "not a phone number: 'not a phone'")]  # the blank line is no row
    csv = tmp_path / "entries.csv"
    csv.write_text("phone,reason\n" + "".join(f"{r},why\n" for r in RAW if r))
    [chunk] = list(file_chunks(csv, phones))
    assert keys(chunk) == expected and not chunk.phones_only and [line.split("\t")[3] for line in chunk.text.splitlines()] == ["why"] * 5
    assert [key_of(phones, r) for r in RAW[:5]] == expected


def test_a_file_is_read_in_chunks_in_its_order_and_bad_lines_keep_their_numbers(tmp_path):
    path = tmp_path / "many.txt"
    path.write_text("".join(f"1390000{i:04d}\n" if i != 1500 else "bad\n" for i in range(2500)))
    chunks = list(plain_chunks(path, Normaliser("CN"), size=700))
    assert len(chunks) > 2 and sum(c.entries for c in chunks) == 2499
    assert [p for c in chunks for p in keys(c)] == [f"+861390000{i:04d}" for i in range(2500) if i != 1500]
    assert [b for c in chunks for b in c.bad] == [(1501, "not a phone number: 'bad'")]
