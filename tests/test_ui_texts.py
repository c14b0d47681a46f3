"""The web UI's text catalogue (German first, English second) and the German leads it puts before the checks'
messages (an admin reads what is wrong in German, the detail follows as the check says it)."""

from __future__ import annotations

from api.ui import texts
from api.ui.accounts import problem_text
from mailroom.errors import InvalidUserSpec, UnknownPostbox


def test_every_text_has_a_german_and_an_english_wording() -> None:
    for key, wordings in texts.CATALOGUE.items():
        assert len(wordings) == 2 and all(w.strip() for w in wordings), key


def test_a_refused_account_is_explained_in_the_users_language() -> None:
    no_box = InvalidUserSpec("a clerk user needs at least one postbox", field="postbox")
    assert problem_text(no_box, "de") == ("Sachbearbeitung und DMS brauchen Postkörbe, die anderen Rollen keine – "
                                          "a clerk user needs at least one postbox")
    assert problem_text(no_box, "en").startswith("Clerks and DMS need postboxes")
    unknown = UnknownPostbox("no postbox 'x' in the organisation directory", field="postbox")
    assert problem_text(unknown, "de").startswith("Diesen Postkorb gibt es im Organisationsverzeichnis nicht – ")
    assert problem_text(InvalidUserSpec("something else", field="other"), "de") == "something else"
