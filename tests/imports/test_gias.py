"""GIAS establishment import: each release's layout, encodings, --la, skips, idempotence."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from imports.gias import (
    SKIP_HIGHER_EDUCATION,
    SKIP_NO_LA,
    SKIP_ONLINE,
    SKIP_OVERSEAS,
    derive_phase,
    import_schools,
    map_type,
)
from models import School, db
from models.enums import EstablishmentType, Phase, SixthForm

from .conftest import csv_bytes, fixture


def schools() -> dict[int, School]:
    return {s.urn: s for s in db.session.scalars(select(School))}


def count() -> int:
    return db.session.scalar(select(func.count(School.id))) or 0


def test_2018_extract_windows_1252_all_quoted_dd_mm_yyyy(app_ctx) -> None:
    report = import_schools(fixture("gias_2018.csv"), "gias_2018.csv")
    assert report.ok and report.committed
    assert report.counts() == {
        "inserted": 8,
        "updated": 0,
        "unchanged": 0,
        "skipped": 2,
        "errors": 0,
    }
    assert report.skipped == {SKIP_OVERSEAS: 1, SKIP_NO_LA: 1}
    got = schools()
    assert set(got) == {120001, 120002, 120003, 120004, 120005, 120006, 120007, 120008}
    # Windows-1252 text decoded: a curly apostrophe and a diaeresis survive.
    assert got[120001].name == "St Mary\u2019s Church of England Primary School"
    assert got[120004].name == "Bront\u00eb House School"
    st_marys = got[120001]
    assert st_marys.establishment_type is EstablishmentType.VOLUNTARY_AIDED
    assert st_marys.phase is Phase.PRIMARY
    assert st_marys.religious_character == "Church of England"
    assert (st_marys.statutory_low_age, st_marys.statutory_high_age) == (4, 11)
    assert (st_marys.street, st_marys.town, st_marys.postcode) == (
        "Church Lane",
        "Lincoln",
        "LN1 1AA",
    )
    assert (st_marys.easting, st_marys.northing, st_marys.la_code) == (497500, 371500, 925)
    grammar = got[120002]
    assert grammar.selective is True and grammar.establishment_type is EstablishmentType.ACADEMY
    assert grammar.religious_character is None
    closed = got[120003]
    assert closed.is_open is False and closed.close_date == date(2015, 8, 31)
    # A2a: independent schools are imported, marked independent (the rules refuse them).
    assert got[120004].is_independent and got[120004].phase is Phase.ALL_THROUGH
    college = got[120005]
    assert college.phase is Phase.FE_COLLEGE
    assert college.establishment_type is EstablishmentType.FE_COLLEGE
    assert college.easting is None and college.northing is None  # imported without a location
    assert got[120007].phase is Phase.ALTERNATIVE_PROVISION
    assert got[120007].establishment_type is EstablishmentType.ALTERNATIVE_PROVISION
    assert got[120008].phase is Phase.SPECIAL


def test_la_filter_keeps_one_authority_and_counts_the_rest(app_ctx) -> None:
    report = import_schools(fixture("gias_2018.csv"), "gias_2018.csv", la=925)
    assert report.ok
    assert report.skipped == {SKIP_OVERSEAS: 1, SKIP_NO_LA: 1, "outside LA 925": 1}
    assert sum(report.inserted.values()) == 7
    assert 120006 not in schools()
    assert {s.la_code for s in schools().values()} == {925}


def test_reimporting_the_same_file_changes_nothing(app_ctx) -> None:
    import_schools(fixture("gias_2018.csv"), "gias_2018.csv")
    before = {s.urn: s.updated_at for s in schools().values()}
    db.session.expire_all()
    again = import_schools(fixture("gias_2018.csv"), "gias_2018.csv")
    assert again.ok
    assert again.counts()["inserted"] == 0 and again.counts()["updated"] == 0
    assert again.unchanged["schools"] == 8
    db.session.expire_all()
    assert {s.urn: s.updated_at for s in schools().values()} == before


def test_2024_extract_unquoted_slashed_dates_updates_only_what_changed(app_ctx) -> None:
    import_schools(fixture("gias_2018.csv"), "gias_2018.csv")
    report = import_schools(fixture("gias_2024.csv"), "gias_2024.csv")
    assert report.ok
    assert report.updated["schools"] == 2 and report.unchanged["schools"] == 6
    assert {c.key for c in report.changes} == {"120002", "120005"}
    db.session.expire_all()
    got = schools()
    assert (got[120002].street, got[120002].easting, got[120002].northing) == (
        "Rowley Road",
        533100,
        343600,
    )
    assert (got[120005].easting, got[120005].northing) == (498500, 372000)
    assert got[120003].close_date == date(2015, 8, 31)  # 31/08/2015 read as the same date


def test_2025_extract_utf8_bom_new_and_missing_columns(app_ctx) -> None:
    report = import_schools(fixture("gias_2025.csv"), "gias_2025.csv")
    assert report.ok, report.errors
    assert report.skipped == {SKIP_HIGHER_EDUCATION: 1, SKIP_ONLINE: 1}
    got = schools()
    assert got[121001].phase is Phase.ALL_THROUGH
    bardney = got[121002]
    assert bardney.establishment_type is EstablishmentType.VOLUNTARY_CONTROLLED
    assert bardney.is_open is True and bardney.close_date == date(2026, 8, 31)
    nursery = got[121003]
    assert (nursery.phase, nursery.establishment_type) == (Phase.NURSERY, EstablishmentType.NURSERY)
    assert got[121004].establishment_type is EstablishmentType.FOUNDATION
    assert got[121004].religious_character == "Roman Catholic"
    assert got[121005].phase is Phase.SIXTH_FORM
    assert got[121006].phase is Phase.ALTERNATIVE_PROVISION
    assert got[121009].is_open is False  # proposed to open: not a destination yet


def test_an_absent_column_leaves_existing_values_alone(app_ctx) -> None:
    import_schools(fixture("gias_2018.csv"), "gias_2018.csv", la=925)
    text = fixture("gias_2018.csv").decode("cp1252")
    lines = text.splitlines()
    header = lines[0].split('","')
    drop = header.index("ReligiousCharacter (name)")
    trimmed = []
    for line in lines:
        cells = line.split('","')
        del cells[drop]
        trimmed.append('","'.join(cells))
    report = import_schools("\r\n".join(trimmed).encode("cp1252"), "old.csv", la=925)
    assert report.ok and report.counts()["updated"] == 0
    db.session.expire_all()
    assert schools()[120001].religious_character == "Church of England"


GIAS_HEADER = (
    '"URN","EstablishmentName","TypeOfEstablishment (name)","EstablishmentStatus (name)",'
    '"PhaseOfEducation (name)","LA (code)","LA (name)","Postcode","CloseDate",'
    '"StatutoryLowAge","StatutoryHighAge"\r\n'
)


def gias(*rows: str) -> bytes:
    return (GIAS_HEADER + "".join(r + "\r\n" for r in rows)).encode("cp1252")


def line(
    urn: str,
    name: str,
    status: str = "Open",
    postcode: str = "LN1 1AA",
    close: str = "",
    ages: tuple[str, str] = ("4", "11"),
    la: str = "925",
) -> str:
    cells = [urn, name, "Community school", status, "Primary", la, "Lincs", postcode, close, *ages]
    return ",".join(f'"{c}"' for c in cells)


GOOD = line("200001", "Good Primary")


@pytest.mark.parametrize(
    ("bad_row", "column", "words"),
    [
        (
            line("20x001", "Bad URN"),
            "URN",
            "not a whole number",
        ),
        (
            line("200002", "Bad Date", status="Closed", close="31/02/2020"),
            "CloseDate",
            "not a real date",
        ),
        (
            line("200003", "Bad Postcode", postcode="NOT A PC"),
            "Postcode",
            "not a UK postcode",
        ),
        (
            line("200004", "Bad Ages", ages=("11", "4")),
            "StatutoryHighAge",
            "below low age",
        ),
        (
            line("200001", "Again"),
            "URN",
            "appears again (first on row 2)",
        ),
    ],
)
def test_a_bad_row_imports_nothing_and_is_named(app_ctx, bad_row, column, words) -> None:
    report = import_schools(gias(GOOD, bad_row), "bad.csv")
    assert not report.ok and not report.committed
    assert len(report.errors) == 1
    err = report.errors[0]
    assert (err.row, err.column) == (3, column)
    assert words in err.reason
    assert count() == 0


def test_undecodable_text_is_named_by_row_and_column(app_ctx) -> None:
    data = gias(GOOD).replace(b"Good Primary", b"Good \x81 Primary")
    report = import_schools(data, "bad.csv")
    assert [(e.row, e.column) for e in report.errors] == [(2, "EstablishmentName")]
    assert "could not be read" in report.errors[0].reason
    assert count() == 0


def test_missing_required_column_is_reported_against_the_header(app_ctx) -> None:
    data = b'"URN","EstablishmentName"\r\n"1","X"\r\n'
    report = import_schools(data, "thin.csv")
    missing = {e.column for e in report.errors}
    assert missing == {"TypeOfEstablishment (name)", "EstablishmentStatus (name)", "LA (code)"}
    assert {e.row for e in report.errors} == {1}
    assert count() == 0


def test_rows_out_of_scope_are_not_checked(app_ctx) -> None:
    """A broken row of another authority does not stop this authority's import."""
    other = line("300001", "Elsewhere", postcode="XX", close="bad", la="926")
    report = import_schools(gias(GOOD, other), "mixed.csv", la=925)
    assert report.ok and report.inserted["schools"] == 1
    assert report.skipped == {"outside LA 925": 1}


@pytest.mark.parametrize(
    ("type_name", "group", "expected"),
    [
        ("Voluntary aided school", "", EstablishmentType.VOLUNTARY_AIDED),
        ("Voluntary controlled school", "", EstablishmentType.VOLUNTARY_CONTROLLED),
        ("Community school", "", EstablishmentType.COMMUNITY),
        ("Foundation school", "", EstablishmentType.FOUNDATION),
        ("Academy converter", "", EstablishmentType.ACADEMY),
        ("Academy sponsor led", "", EstablishmentType.ACADEMY),
        ("Free schools", "", EstablishmentType.FREE_SCHOOL),
        ("Non-maintained special school", "", EstablishmentType.SPECIAL),
        ("Other independent school", "", EstablishmentType.INDEPENDENT),
        ("Some new independent kind", "Independent schools", EstablishmentType.INDEPENDENT),
        ("Further education", "", EstablishmentType.FE_COLLEGE),
        ("Pupil referral unit", "", EstablishmentType.ALTERNATIVE_PROVISION),
        ("LA nursery school", "", EstablishmentType.NURSERY),
        ("Secure units", "", EstablishmentType.OTHER),
    ],
)
def test_gias_types_map_onto_establishment_types(type_name, group, expected) -> None:
    assert map_type(type_name, group)[0] is expected


def test_phase_from_ages_when_gias_gives_none() -> None:
    other = EstablishmentType.OTHER
    assert derive_phase(None, "Not applicable", other, 4, 11) is Phase.PRIMARY
    assert derive_phase(None, "Not applicable", other, 11, 16) is Phase.SECONDARY
    assert derive_phase(None, "Not applicable", other, 3, 18) is Phase.ALL_THROUGH
    assert derive_phase(None, "Not applicable", other, 16, 19) is Phase.SIXTH_FORM
    assert derive_phase(None, "Not applicable", other, None, None) is None
    assert derive_phase(None, "16 plus", EstablishmentType.FE_COLLEGE, 16, 99) is Phase.FE_COLLEGE


# A7b: a post-16 student's nearest suitable school is one "with a sixth form provision" (or a
# college), so the import keeps GIAS's OfficialSixthForm for the eligibility facts.
SIXTH_FORM_HEADER = [
    "URN",
    "EstablishmentName",
    "TypeOfEstablishment (name)",
    "EstablishmentStatus (name)",
    "PhaseOfEducation (name)",
    "LA (code)",
    "StatutoryLowAge",
    "StatutoryHighAge",
    "OfficialSixthForm (name)",
]


def secondary_row(urn: int, sixth_form: str) -> list[str]:
    name = f"School {urn}"
    return [str(urn), name, "Academy converter", "Open", "Secondary", "925", "11", "18", sixth_form]


@pytest.mark.parametrize(
    ("official", "expected"),
    [
        ("Has a sixth form", SixthForm.HAS),
        ("Does not have a sixth form", SixthForm.DOES_NOT_HAVE),
        ("Not applicable", SixthForm.NOT_APPLICABLE),
        ("Not recorded", SixthForm.NOT_RECORDED),
        (" HAS A SIXTH FORM ", SixthForm.HAS),  # case and spaces as other columns
        ("", SixthForm.NOT_RECORDED),
        # A wording GIAS has not used before is "not recorded", never a failed import.
        ("Has sixth form provision", SixthForm.NOT_RECORDED),
    ],
)
def test_a7b_official_sixth_form_is_stored(app_ctx, official: str, expected: SixthForm) -> None:
    data = csv_bytes(SIXTH_FORM_HEADER, [secondary_row(200100, official)])
    report = import_schools(data, "sixth.csv")
    assert report.ok and report.committed, report.errors
    db.session.expire_all()
    assert schools()[200100].sixth_form is expected


def test_a7b_sixth_form_from_the_fixture_extracts(app_ctx) -> None:
    import_schools(fixture("gias_2018.csv"), "gias_2018.csv")
    got = schools()
    assert got[120001].sixth_form is SixthForm.DOES_NOT_HAVE
    assert got[120002].sixth_form is SixthForm.HAS
    assert got[120003].sixth_form is SixthForm.NOT_APPLICABLE
    assert got[120005].sixth_form is SixthForm.NOT_APPLICABLE  # a college: post-16 by phase
    # The 2025 release has no OfficialSixthForm column: its new schools are "not recorded".
    import_schools(fixture("gias_2025.csv"), "gias_2025.csv")
    assert schools()[121001].sixth_form is SixthForm.NOT_RECORDED


def test_a7b_a_changed_sixth_form_is_updated_and_an_absent_column_kept(app_ctx) -> None:
    import_schools(csv_bytes(SIXTH_FORM_HEADER, [secondary_row(200200, "Has a sixth form")]), "a")
    closed = secondary_row(200200, "Does not have a sixth form")
    report = import_schools(csv_bytes(SIXTH_FORM_HEADER, [closed]), "b.csv")
    assert report.updated["schools"] == 1
    assert "sixth_form: has_sixth_form → no_sixth_form" in report.changes[0].detail
    db.session.expire_all()
    assert schools()[200200].sixth_form is SixthForm.DOES_NOT_HAVE
    # An older extract without the column leaves the value alone.
    report = import_schools(csv_bytes(SIXTH_FORM_HEADER[:-1], [closed[:-1]]), "c.csv")
    assert report.ok and report.counts()["updated"] == 0
    db.session.expire_all()
    assert schools()[200200].sixth_form is SixthForm.DOES_NOT_HAVE
