"""Do-not-call entries read from files: every way of reading keys a number as zones.e164 does."""

from __future__ import annotations

from eslbridge.dnc_import import file_chunks, key_of, plain_chunks
from eslbridge.phones import Normaliser
from eslbridge.zones import e164

RAW = ["13800000001", "138-0000-0002", "+86 138 0000 0003", "010-1234-5678", "+1 212 555 0123", "not a phone", ""]


def keys(text: str) -> list[str]:
    return [line.split("\t")[1] for line in text.splitlines()]


def test_a_plain_file_and_a_csv_key_every_number_as_e164(tmp_path):
    phones = Normaliser("CN")
    expected = [e164(p, "CN") for p in (phones.normalise(r) for r in RAW) if p]
    assert expected == ["+8613800000001", "+8613800000002", "+8613800000003", "+861012345678", "+12125550123"]
    plain = tmp_path / "plain.txt"
    plain.write_text("\n".join(RAW) + "\n")
    [chunk] = list(file_chunks(plain, phones))
    assert keys(chunk.text) == expected and chunk.entries == 5
    assert chunk.bad == [(6, "not a phone number: 'not a phone'")]  # the blank line is no row
    csv = tmp_path / "entries.csv"
    csv.write_text("phone,reason\n" + "".join(f"{r},why\n" for r in RAW if r))
    [chunk] = list(file_chunks(csv, phones))
    assert keys(chunk.text) == expected and [line.split("\t")[3] for line in chunk.text.splitlines()] == ["why"] * 5
    assert [key_of(phones, r) for r in RAW[:5]] == expected


def test_a_file_is_read_in_chunks_numbered_by_line(tmp_path):
    path = tmp_path / "many.txt"
    path.write_text("".join(f"1390000{i:04d}\n" for i in range(2500)))
    chunks = list(plain_chunks(path, Normaliser("CN"), size=700))
    assert len(chunks) > 2 and sum(c.entries for c in chunks) == 2500
    numbers = [int(line.split("\t")[0]) for c in chunks for line in c.text.splitlines()]
    assert numbers == list(range(1, 2501))
