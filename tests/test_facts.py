import json
import warnings
from decimal import Decimal

import pytest

import helpers
from helpers.facts import (
    Item,
    ReceiptFacts,
    load_receipt_truth,
    normalize_amount,
    normalize_date,
    parse_receipt_facts,
    score_receipt_facts,
)
from helpers.prompts import KEY_FACTS_PROMPT

RECEIPTS = helpers.INPUT_DIR / "receipts"


def test_prompt_is_the_official_key_value_shape():
    assert KEY_FACTS_PROMPT.startswith("Extract the key-value information in the format:{")
    assert json.loads(KEY_FACTS_PROMPT.split("format:", 1)[1])["items"] == [
        {"name": "", "price": ""}
    ]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # fenced, every field, a price as a number
        (
            '```json\n{"store": "CITY BAKERY", "date": "2026-11-01", "total": "36.85", "items": [{"name": "Muffin", "price": "5.06"}, {"name": "Bagel", "price": 13.2}]}\n```',
            ReceiptFacts("CITY BAKERY", "2026-11-01", "36.85", (Item("Muffin", "5.06"), Item("Bagel", "13.2"))),
        ),
        # prose around bare JSON, other field names, a currency sign
        (
            'Sure! {"shop": "City Bakery", "purchase_date": "01/11/2026 08:47", "total_amount": "$36.85"} Hope it helps.',
            ReceiptFacts("City Bakery", "01/11/2026 08:47", "$36.85"),
        ),
        # cut off inside the last item: complete fields kept, the last item dropped
        (
            '{"store": "CITY BAKERY", "date": "2026-11-01", "total": "36.85", "items": [{"name": "Muffin", "price": "5.06"}, {"name": "Bag',
            ReceiptFacts("CITY BAKERY", "2026-11-01", "36.85", (Item("Muffin", "5.06"),)),
        ),
        # items as "name price" strings and pairs; malformed ones skipped
        (
            '{"store": "X", "items": ["Muffin 5.06", ["Bagel", "13.20"], {"name": "no price"}, 5, {"name": "Tea", "price": "free"}]}',
            ReceiptFacts("X", None, None, (Item("Muffin", "5.06"), Item("Bagel", "13.20"))),
        ),
        # Python quotes, CJK, a comma decimal
        (
            "{'store': '北京咖啡馆', 'date': '2026年11月11日', 'total': '26,18 元'}",
            ReceiptFacts("北京咖啡馆", "2026年11月11日", "26,18 元"),
        ),
        # a thinking block and upper-case keys
        (
            '<think>{"store": "decoy"}</think>{"STORE": "Corner Cafe", "Total": 31.73}',
            ReceiptFacts("Corner Cafe", None, "31.73"),
        ),
        # empty strings count as missing
        ('{"store": "", "date": " ", "total": "12.00"}', ReceiptFacts(None, None, "12.00")),
    ],
)  # fmt: skip
def test_parse_receipt_facts(answer, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert parse_receipt_facts(answer) == expected


@pytest.mark.parametrize(
    "answer", ["I cannot read the receipt.", "", '[{"bbox_2d": [1, 2, 3, 4]}]', "```json\n```"]
)
def test_facts_garbage_warns_and_returns_empty(answer):
    with pytest.warns(UserWarning, match="no JSON key facts"):
        facts = parse_receipt_facts(answer)
    assert facts.is_empty() and facts.items == ()


def test_malformed_items_and_cut_off_warn():
    with pytest.warns(UserWarning, match="skipped 1 malformed item"):
        parse_receipt_facts(
            '{"store": "X", "items": [{"name": "A", "price": "1.00"}, {"name": "B"}]}'
        )
    with pytest.warns(UserWarning, match="cut off"):
        parse_receipt_facts('{"store": "X", "items": [{"name": "A", "price": "1.00"}, {"name"')


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("36.85", "36.85"),  # plain
        ("$36.85", "36.85"),  # currency sign
        ("36,85 €", "36.85"),  # comma decimal, sign after
        ("1,234.50", "1234.50"),  # thousands comma
        ("1 234,50", "1234.50"),  # thousands space, comma decimal
        ("1.234", "1234.00"),  # a dot before three digits groups thousands
        (36.85, "36.85"),  # a JSON number
        (12, "12.00"),  # an integer
        ("26.18元", "26.18"),  # CJK currency word
        ("TOTAL 36.5", "36.50"),  # words around it
        ("-3.50", "-3.50"),  # a refund
        ("free", None),  # no number
        (None, None),  # missing
        (True, None),  # not an amount
    ],
)
def test_normalize_amount(value, expected):
    assert normalize_amount(value) == (None if expected is None else Decimal(expected))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-01", "2026-11-01"),  # ISO
        ("2026-11-01 08:47", "2026-11-01"),  # with a time
        ("2026/11/1", "2026-11-01"),  # slashes, no padding
        ("2026年11月11日", "2026-11-11"),  # Chinese
        ("01/11/2026", "2026-11-01"),  # day first
        ("01.11.2026", "2026-11-01"),  # German style
        ("Nov 1, 2026", "2026-11-01"),  # month name
        ("1 November 2026", "2026-11-01"),  # long form
        ("2026-13-01", None),  # no 13th month
        ("08:47", None),  # a time only: no year
        ("garbage", None),  # nothing
        (None, None),  # missing
    ],
)
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


def test_score_receipt_facts_field_by_field():
    truth = ReceiptFacts(
        "CITY BAKERY", "2026-11-01", "36.85", (Item("Muffin", "5.06"), Item("Bagel", "13.20"))
    )
    same = ReceiptFacts(
        "City Bakery.", "01/11/2026", "$36.85", (Item("muffin", "5.06"), Item("Bagel", "13.2"))
    )
    score = score_receipt_facts(same, truth)
    assert (score.store, score.date, score.total, score.field_accuracy, score.items_f1) == (
        True,
        True,
        True,
        1.0,
        1.0,
    )
    wrong = ReceiptFacts(
        "CITY BAKERY",
        "2026-11-02",
        "36.58",
        (Item("Muffin", "5.60"), Item("Bagel", "13.20"), Item("Bagel", "13.20")),
    )
    score = score_receipt_facts(wrong, truth)
    assert (score.store, score.date, score.total) == (True, False, False)
    assert (score.items_matched, score.items_precision, score.items_recall) == (
        1,
        1 / 3,
        0.5,
    )  # a duplicate counts once
    empty = score_receipt_facts(ReceiptFacts(), truth)
    assert empty.as_row() == {
        "store": 0,
        "date": 0,
        "total": 0,
        "field_accuracy": 0.0,
        "items_precision": 0.0,
        "items_recall": 0.0,
        "items_f1": 0.0,
    }
    assert not score_receipt_facts(
        ReceiptFacts(total="abc"), ReceiptFacts(total="abc")
    ).total  # unreadable never matches


def test_receipt_truth_matches_the_printed_text():
    truths = load_receipt_truth(RECEIPTS / "manifest.json")
    assert len(truths) == 10 and len({t.condition for t in truths}) == 10
    for truth in truths:
        lines = truth.image.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
        facts = truth.facts
        assert truth.image.exists()
        assert lines[0] == facts.store
        assert lines[1].startswith(f"{facts.date} ") and normalize_date(facts.date) == facts.date
        for item in facts.items:
            assert f"{item.name} {item.price}" in lines, item
        assert sum(normalize_amount(i.price) for i in facts.items) == normalize_amount(facts.total)
        total_line = next(
            line
            for line in lines
            if line.endswith(f" {facts.total}")
            and line not in {f"{i.name} {i.price}" for i in facts.items}
        )
        assert lines.index(total_line) > max(
            lines.index(f"{i.name} {i.price}") for i in facts.items
        )


def test_load_receipt_truth_errors_name_the_file(tmp_path):
    old = tmp_path / "manifest.json"
    old.write_text(
        json.dumps({"receipts": [{"image": "a.png", "language": "en", "condition": "clean"}]})
    )
    with pytest.raises(helpers.InputError, match=r"manifest\.json.*make_receipts"):
        load_receipt_truth(old)


@pytest.mark.parametrize(
    ("answer", "store", "total"),
    [
        ('{"store": "CITY BAKERY", "date": "2024-03-15", "total": "36.85"}', 1, 1),  # all right
        ('```json\n{"store": "city bakery", "total": "$36.85"}\n```', 1, 1),  # fenced, case, $
        ('{"store": "Other Shop", "total": "12.00"}', 0, 0),  # wrong values
        ("I cannot read this receipt.", 0, 0),  # prose: nothing parsed
    ],
)
def test_facts_rows(answer, store, total):
    truth = load_receipt_truth(RECEIPTS / "manifest.json")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        [row] = helpers.facts.facts_rows([truth], [answer])
    assert (row["image"], row["condition"]) == (truth.image.name, truth.condition)
    assert (row["store"], row["total"]) == (store, total)


def test_facts_rows_counts_must_match():
    truths = load_receipt_truth(RECEIPTS / "manifest.json")[:2]
    with pytest.raises(ValueError, match="one answer per receipt"):
        helpers.facts.facts_rows(truths, ["{}"])
