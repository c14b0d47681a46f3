"""Every text of the web UI, German first, English second: the one catalogue.

Templates call ``t("key")`` (and ``t("key", n=3)`` for texts with ``{placeholders}``); the language is the
user's choice (cookie ``mailroom_lang``), German by default. A key missing from the catalogue is a programming
error: :func:`text` raises ``KeyError`` (a test renders every page in both languages).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

LANGUAGES: Final = ("de", "en")
DEFAULT_LANGUAGE: Final = "de"

#: key -> (German, English)
CATALOGUE: Final[dict[str, tuple[str, str]]] = {
    # frame
    "app.name": ("Posteingang", "Mailroom"),
    "nav.skip": ("Zum Inhalt springen", "Skip to content"),
    "nav.main": ("Hauptnavigation", "Main navigation"),
    "nav.review": ("Validierung", "Validation"),
    "nav.station": ("Scanstation", "Scanning station"),
    "nav.postboxes": ("Postkörbe", "Postboxes"),
    "nav.rules": ("Regeln", "Rules"),
    "nav.directory": ("Verzeichnis", "Directory"),
    "nav.suppliers": ("Lieferanten", "Suppliers"),
    "nav.dashboard": ("Übersicht", "Dashboard"),
    "nav.users": ("Benutzer", "Users"),
    "nav.signed_in_as": ("Angemeldet als {name} ({role})", "Signed in as {name} ({role})"),
    "nav.logout": ("Abmelden", "Sign out"),
    "nav.language": ("Sprache", "Language"),
    "lang.de": ("Deutsch", "Deutsch"),
    "lang.en": ("English", "English"),
    "role.station": ("Scanstation", "station"),
    "role.clerk": ("Sachbearbeitung", "clerk"),
    "role.dms": ("DMS", "DMS"),
    "role.reviewer": ("Validierung", "reviewer"),
    "role.admin": ("Administration", "admin"),
    # sign-in
    "login.title": ("Anmelden", "Sign in"),
    "login.name": ("Benutzername", "User name"),
    "login.password": ("Passwort", "Password"),
    "login.submit": ("Anmelden", "Sign in"),
    "login.failed": ("Benutzername oder Passwort ist falsch.", "The user name or password is wrong."),
    "login.locked": (
        "Zu viele Fehlversuche: das Konto ist für {minutes} Minuten gesperrt.",
        "Too many failed attempts: the account is locked for {minutes} minutes.",
    ),
    "login.expired": (
        "Die Sitzung ist abgelaufen. Bitte erneut anmelden.", "The session has ended. Please sign in again."
    ),
    "login.signed_out": ("Sie sind abgemeldet.", "You are signed out."),
    "login.csrf": (
        "Das Formular war veraltet. Bitte erneut versuchen.", "The form was out of date. Please try again."
    ),
    # errors
    "error.title": ("Fehler", "Error"),
    "error.not_found": ("Nicht gefunden.", "Not found."),
    "error.forbidden": ("Dafür fehlt Ihnen die Berechtigung.", "You are not allowed to do this."),
    "error.csrf": (
        "Die Anfrage wurde abgewiesen (Sicherheitsmerkmal fehlt oder ist veraltet). Bitte die Seite neu laden.",
        "The request was refused (security token missing or out of date). Please reload the page.",
    ),
    "error.back": ("Zurück zur Startseite", "Back to the start page"),
    # review queue
    "review.title": ("Validierung: Warteschlange", "Validation: queue"),
    "review.intro": (
        "Dokumente, die eine Entscheidung brauchen, die ältesten zuerst.",
        "Documents that need a decision, oldest first.",
    ),
    "review.empty": ("Die Warteschlange ist leer.", "The queue is empty."),
    "review.count": ("{n} Dokumente warten.", "{n} documents are waiting."),
    "review.col.document": ("Dokument", "Document"),
    "review.col.received": ("Eingang", "Received"),
    "review.col.age": ("Wartet seit", "Waiting for"),
    "review.col.type": ("Art", "Type"),
    "review.col.reason": ("Grund", "Reason"),
    "review.col.station": ("Station", "Station"),
    "review.open_first": ("Ältestes öffnen", "Open the oldest"),
    "review.reason.none": ("(kein Grund angegeben)", "(no reason given)"),
    # document view (validation station)
    "doc.title": ("Dokument prüfen: {name}", "Check document: {name}"),
    "doc.pages": ("Seiten", "Pages"),
    "doc.page": ("Seite {n}", "Page {n}"),
    "doc.page_image": ("Seite {n} mit markierten Feldern", "Page {n} with the fields marked"),
    "doc.no_pages": ("Keine Seitenbilder (E-Rechnung als XML).", "No page images (XML e-invoice)."),
    "doc.reasons": ("Warum zur Prüfung", "Why it needs a check"),
    "doc.decision": ("Entscheidung", "Decision"),
    "doc.postbox": ("Postkorb", "Postbox"),
    "doc.postbox.suggested": ("Vorschläge", "Suggestions"),
    "doc.postbox.all": ("Alle Postkörbe", "All postboxes"),
    "doc.postbox.hint": (
        "Tippen Sie die Anfangsbuchstaben, um einen Postkorb zu suchen.",
        "Type the first letters to search for a postbox.",
    ),
    "doc.type": ("Dokumentart", "Document type"),
    "doc.fields": ("Rechnungsfelder", "Invoice fields"),
    "doc.fields.hint": (
        "Klick auf eine Markierung wählt ihr Feld; ein Feld zeigt seine Markierung. Eingaben werden sofort geprüft.",
        "Clicking a box selects its field; a field shows its box. Entries are checked at once.",
    ),
    "doc.confirm": ("Bestätigen und nächstes öffnen", "Confirm and open the next"),
    "doc.confirm.key": ("Strg+Eingabe", "Ctrl+Enter"),
    "doc.confirmed": ("Entschieden: {name} → {postbox}.", "Decided: {name} → {postbox}."),
    "doc.not_in_review": (
        "Dieses Dokument wartet nicht mehr auf eine Entscheidung (Zustand: {state}).",
        "This document no longer waits for a decision (state: {state}).",
    ),
    "doc.rescan": ("Zurück an die Station: neu scannen", "Back to the station: scan again"),
    "doc.rescan.message": ("Nachricht an die Station", "Message to the station"),
    "doc.rescan.default": (
        "Bitte neu scannen: die Seiten sind nicht lesbar.", "Please scan again: the pages cannot be read."
    ),
    "doc.decided_elsewhere": (
        "Das Dokument ist nicht mehr in Prüfung: jemand anderes hat schon entschieden.",
        "The document is no longer in review: someone else decided it already.",
    ),
    "doc.split": ("Hier trennen: zwei Schreiben in einem Dokument", "Split here: two letters in one document"),
    "doc.split.before": ("Neues Schreiben beginnt auf", "A new letter starts on"),
    "doc.split.page": ("Seite {n}", "page {n}"),
    "doc.split.submit": ("Dokument hier trennen", "Split the document here"),
    "doc.split.invalid": (
        "Trennen geht nur vor einer Seite des Dokuments ab Seite 2.", "A split goes before a page from page 2 on.",
    ),
    "doc.rescan.pages": ("Seiten (leer: alle)", "Pages (empty: all)"),
    "doc.rescan.submit": ("An die Station zurückgeben", "Send back to the station"),
    "doc.rescan.no_station": (
        "Dieses Dokument kam nicht von einer Scanstation.", "This document did not come from a scanning station."
    ),
    "doc.rescan.needs_message": (
        "Bitte eine Nachricht an die Station schreiben.", "Please write a message to the station."
    ),
    "doc.back_to_queue": ("Zurück zur Warteschlange", "Back to the queue"),
    "doc.invalid": ("Bitte die markierten Angaben korrigieren.", "Please correct the marked entries."),
    "doc.state.ok": ("geprüft", "valid"),
    "doc.state.warn": ("unsicher", "uncertain"),
    "doc.state.bad": ("ungültig", "invalid"),
    "doc.legend": (
        "Farben: grün gültig, gelb unsicher, rot ungültig.", "Colours: green valid, yellow uncertain, red invalid."
    ),
    "doc.confidence": ("Sicherheit {value} %", "Confidence {value} %"),
    "field.address_field": ("Anschriftfeld", "Address field"),
    "field.seller_name": ("Lieferant", "Supplier"),
    "field.invoice_number": ("Rechnungsnummer", "Invoice number"),
    "field.issue_date": ("Rechnungsdatum", "Invoice date"),
    "field.due_date": ("Fällig am", "Due date"),
    "field.service_date": ("Leistungsdatum", "Service date"),
    "field.total_net": ("Netto", "Net total"),
    "field.total_vat": ("Umsatzsteuer", "VAT"),
    "field.total_gross": ("Brutto", "Gross total"),
    "field.amount_due": ("Zahlbetrag", "Amount due"),
    "field.iban": ("IBAN", "IBAN"),
    "field.bic": ("BIC", "BIC"),
    "field.seller_vat_id": ("USt-IdNr.", "VAT id"),
    "field.seller_tax_number": ("Steuernummer", "Tax number"),
    "field.customer_number": ("Kundennummer", "Customer number"),
    "field.order_reference": ("Bestellnummer", "Order reference"),
    "field.buyer_reference": ("Leitweg-ID / Käuferreferenz", "Leitweg-ID / buyer reference"),
    "problem.too_long": ("Zu lang.", "Too long."),
    "problem.unreadable_amount": (
        "Kein Betrag: bitte mit zwei Nachkommastellen, z. B. 1.234,56.",
        "Not an amount: please with two decimals, e.g. 1,234.56.",
    ),
    "problem.unreadable_date": ("Kein Datum: bitte TT.MM.JJJJ.", "Not a date: please DD.MM.YYYY."),
    "problem.iban_checksum": ("Die Prüfziffern der IBAN stimmen nicht.", "The IBAN's check digits are wrong."),
    "problem.bic_format": ("Das ist keine BIC.", "This is not a BIC."),
    "problem.bic_matches_iban_country": (
        "BIC und IBAN gehören zu verschiedenen Ländern.", "BIC and IBAN belong to different countries."
    ),
    "problem.vat_id_check_digits": ("Die USt-IdNr. ist ungültig.", "The VAT id is invalid."),
    "problem.leitweg_id": ("Die Leitweg-ID ist ungültig.", "The Leitweg-ID is invalid."),
    "problem.dates_plausible": ("Das Datum ist unplausibel.", "The date is implausible."),
    "problem.due_date_not_before_issue_date": (
        "Fälligkeit liegt vor dem Rechnungsdatum.", "The due date is before the invoice date."
    ),
    "problem.net_plus_vat_equals_gross": (
        "Netto + Umsatzsteuer ergibt nicht Brutto.", "Net + VAT does not give the gross total."
    ),
    "problem.duplicate_invoice": ("Rechnung wurde schon einmal eingereicht.", "The invoice was submitted before."),
    "problem.unknown_postbox": ("Diesen Postkorb gibt es nicht.", "There is no such postbox."),
    "problem.unknown_document_type": ("Diese Dokumentart gibt es nicht.", "There is no such document type."),
    "doctype.invoice": ("Rechnung", "Invoice"),
    "doctype.credit_note": ("Gutschrift", "Credit note"),
    "doctype.payment_reminder": ("Mahnung / Zahlungserinnerung", "Payment reminder"),
    "doctype.offer": ("Angebot", "Offer"),
    "doctype.order_confirmation": ("Auftragsbestätigung", "Order confirmation"),
    "doctype.delivery_note": ("Lieferschein", "Delivery note"),
    "doctype.contract": ("Vertrag", "Contract"),
    "doctype.application_building_permit": ("Bauantrag", "Building permit application"),
    "doctype.application_housing_benefit": ("Wohngeldantrag", "Housing benefit application"),
    "doctype.application_dog_tax": ("Hundesteuer-Anmeldung", "Dog tax registration"),
    "doctype.application_trade_registration": ("Gewerbeanmeldung", "Trade registration"),
    "doctype.application_daycare": ("Kita-Antrag", "Daycare application"),
    "doctype.objection": ("Widerspruch", "Objection"),
    "doctype.complaint": ("Beschwerde", "Complaint"),
    "doctype.enquiry": ("Anfrage", "Enquiry"),
    "doctype.authority_notice": ("Behördenschreiben", "Notice from an authority"),
    "doctype.job_application": ("Bewerbung", "Job application"),
    "doctype.invitation": ("Einladung", "Invitation"),
    # station
    "station.title": ("Scanstation: heutige Eingänge", "Scanning station: today's uploads"),
    "station.upload": ("Hochladen", "Upload"),
    "station.drop": (
        "Dateien hierher ziehen oder auswählen (PDF, TIFF, PNG, JPEG, XML).",
        "Drag files here or choose them (PDF, TIFF, PNG, JPEG, XML).",
    ),
    "station.choose": ("Dateien auswählen", "Choose files"),
    "station.progress": ("Hochgeladen: {done} von {total}", "Uploaded: {done} of {total}"),
    "station.none": ("Heute noch keine Eingänge.", "No uploads today yet."),
    "station.rescans": ("Bitte neu scannen", "Please scan again"),
    "account.title": ("Mein Konto", "My account"),
    "account.password": ("Passwort ändern", "Change the password"),
    "account.current": ("Aktuelles Passwort", "Current password"),
    "account.new": ("Neues Passwort", "New password"),
    "account.repeat": ("Neues Passwort wiederholen", "Repeat the new password"),
    "account.rules": ("Mindestens {n} Zeichen.", "At least {n} characters."),
    "account.change": ("Passwort ändern", "Change the password"),
    "account.done": (
        "Das Passwort ist geändert. Andere Anmeldungen mit diesem Konto sind beendet.",
        "The password is changed. Other sessions of this account have ended.",
    ),
    "account.mismatch": (
        "Die beiden neuen Passwörter stimmen nicht überein.", "The two new passwords do not match.",
    ),
    "account.same": (
        "Das neue Passwort ist das bisherige. Bitte ein anderes wählen.",
        "The new password is the current one. Please choose another.",
    ),
    "account.wrong_current": (
        "Das aktuelle Passwort stimmt nicht. Nach fünf Fehlversuchen wird das Konto für 15 Minuten gesperrt.",
        "The current password is wrong. After five failures the account is locked for 15 minutes.",
    ),
    "account.sessions": (
        "Nach der Änderung bleiben Sie nur in diesem Browser angemeldet.",
        "After the change you stay signed in in this browser only.",
    ),
    "users.password": ("Neues Passwort setzen", "Set a new password"),
    "users.password.for": ("Neues Passwort für {name}", "New password for {name}"),
    "users.password.repeat": ("Wiederholen", "Repeat"),
    "users.password.mismatch": (
        "Die beiden Passwörter stimmen nicht überein.", "The two passwords do not match.",
    ),
    "users.disable.self": (
        "Das eigene Konto deaktiviert eine andere Administratorin oder ein anderer Administrator.",
        "Another admin disables your own account.",
    ),
    # the lead of a refused account change: by error code, else by the field it concerns
    "users.problem.unknown_postbox": (
        "Diesen Postkorb gibt es im Organisationsverzeichnis nicht", "No such postbox in the directory"
    ),
    "users.problem.unknown_person": (
        "Diese Person gibt es im Organisationsverzeichnis nicht", "No such person in the directory"
    ),
    "users.problem.password": ("Das Passwort hat 12 bis 1024 Zeichen", "A password has 12 to 1024 characters"),
    "users.problem.name": (
        "Der Benutzername ist ungültig oder schon vergeben", "The user name is not valid or taken already"
    ),
    "users.problem.postbox": (
        "Sachbearbeitung und DMS brauchen Postkörbe, die anderen Rollen keine",
        "Clerks and DMS need postboxes, the other roles none",
    ),
    "users.problem.station": ("Nur eine Scanstation hat eine Station", "Only a station account has a station"),
    "users.problem.person": (
        "Eine Person des Verzeichnisses haben nur Sachbearbeitung und DMS", "Only clerk and DMS accounts have a person"
    ),
    "users.problem.role": ("Diese Rolle gibt es nicht", "No such role"),
    "station.rescans.none": ("Keine Aufforderungen zum Neuscannen.", "No requests to scan again."),
    "station.dismiss": ("Erledigt (neu gescannt)", "Done (scanned again)"),
    "station.dismiss.label": ("Erledigt (neu gescannt): {file}", "Done (scanned again): {file}"),
    "station.notice.dismissed": ("Die Aufforderung ist erledigt.", "The request is closed."),
    "station.notice.already": (
        "Diese Aufforderung war schon erledigt.", "That request was closed already.",
    ),
    "station.col.file": ("Datei", "File"),
    "station.col.time": ("Uhrzeit", "Time"),
    "station.col.pages": ("Seiten", "Pages"),
    "station.col.state": ("Zustand", "State"),
    "station.col.where": ("Ziel", "Where to"),
    "station.col.warnings": ("Hinweise", "Warnings"),
    "station.admin_note": (
        "Als Administrator sehen Sie die Eingänge aller Stationen; hochladen kann nur eine Station.",
        "As an admin you see every station's uploads; only a station uploads.",
    ),
    "state.received": ("eingegangen", "received"),
    "state.separated": ("getrennt", "separated"),
    "state.ocr": ("gelesen", "read"),
    "state.recognised": ("erkannt", "recognised"),
    "state.routed": ("zugestellt", "routed"),
    "state.review": ("in Prüfung", "in review"),
    "state.rescan": ("neu scannen", "scan again"),
    "state.split": ("aufgeteilt", "split"),
    "state.failed": ("fehlgeschlagen", "failed"),
    "state.dismissed": ("erledigt (neu gescannt)", "dismissed (scanned again)"),
    # postboxes (clerks)
    "postboxes.title": ("Meine Postkörbe", "My postboxes"),
    "postboxes.none": ("Ihnen ist kein Postkorb zugeordnet.", "No postbox is assigned to you."),
    "postboxes.col.postbox": ("Postkorb", "Postbox"),
    "postbox.title": ("Postkorb: {name}", "Postbox: {name}"),
    "postbox.empty": ("Keine Dokumente in diesem Zustand.", "No documents in this state."),
    "postbox.states": ("Zustände", "States"),
    "postbox.col.placed": ("Eingelegt", "Placed"),
    "postbox.col.kind": ("Art", "Kind"),
    "postbox.col.claimed_by": ("Bearbeitet von", "Claimed by"),
    "postbox.rerouted": ("Das Dokument wurde weitergeleitet.", "The document was sent on."),
    "item.new": ("neu", "new"),
    "item.claimed": ("in Bearbeitung", "claimed"),
    "item.done": ("erledigt", "done"),
    "item.primary": ("zugestellt", "routed here"),
    "item.copy": ("Kopie", "copy"),
    "item.copy_from": ("Kopie von {who}: {note}", "Copy from {who}: {note}"),
    "pdoc.title": ("Dokument: {name}", "Document: {name}"),
    "pdoc.back": ("Zurück zum Postkorb", "Back to the postbox"),
    "pdoc.state": ("Im Postkorb: {state}", "In the postbox: {state}"),
    "pdoc.searchable_pdf": ("Durchsuchbares PDF öffnen", "Open the searchable PDF"),
    "pdoc.fields": ("Erkannte Rechnungsfelder", "Invoice fields read"),
    "pdoc.actions": ("Aktionen", "Actions"),
    "pdoc.claim": ("Übernehmen", "Claim"),
    "pdoc.release": ("Zurückgeben", "Release"),
    "pdoc.acknowledge": ("Erledigt", "Done"),
    "pdoc.no_actions": ("Erledigt: hier ist nichts mehr zu tun.", "Done: nothing left to do here."),
    "pdoc.forward": ("Weiterleiten oder Kopie senden", "Send on or send a copy"),
    "pdoc.target": ("An Postkorb", "To postbox"),
    "pdoc.reason": ("Begründung", "Reason"),
    "pdoc.reroute": ("Weiterleiten (verschieben)", "Send on (move)"),
    "pdoc.copy": ("Kopie senden", "Send a copy"),
    "action.claim": ("Sie bearbeiten das Dokument jetzt.", "You now hold the document."),
    "action.release": ("Das Dokument liegt wieder im Postkorb.", "The document is back in the postbox."),
    "action.acknowledge": ("Als erledigt markiert.", "Marked as done."),
    "action.copy": ("Kopie gesendet.", "Copy sent."),
    "action.reason_needed": ("Bitte eine Begründung angeben.", "Please give a reason."),
    "code.already_claimed": ("Jemand anderes bearbeitet das Dokument bereits.", "Someone else holds the document."),
    "code.already_done": ("Das Dokument ist bereits erledigt.", "The document is done already."),
    "code.already_in_postbox": ("Der Postkorb hat das Dokument bereits.", "That postbox holds the document already."),
    "code.unknown_postbox": ("Diesen Postkorb gibt es nicht.", "There is no such postbox."),
    "code.same_postbox": ("Das Dokument liegt bereits dort.", "The document is there already."),
    "code.invalid_transition": ("Das Dokument ist nicht (mehr) zugestellt.", "The document is not routed (any more)."),
    "code.not_routed": ("Das Dokument ist nicht zugestellt.", "The document is not routed."),
    # rules administration
    "rules.title": ("Routing-Regeln", "Routing rules"),
    "rules.active": ("Aktive Version: {n}", "Active version: {n}"),
    "rules.versions": ("Versionen", "Versions"),
    "rules.history": ("Änderungen", "Changes"),
    "rules.col.version": ("Version", "Version"),
    "rules.col.status": ("Status", "Status"),
    "rules.col.source": ("Herkunft", "Source"),
    "rules.col.by": ("Von", "By"),
    "rules.col.at": ("Wann", "When"),
    "rules.col.action": ("Aktion", "Action"),
    "rules.new_draft": ("Neuen Entwurf aus der aktiven Version anlegen", "New draft from the active version"),
    "rules.rollback": ("Zur vorherigen Version zurückkehren", "Roll back to the previous version"),
    "rules.open": ("Version {n} öffnen", "Open version {n}"),
    "rules.status.draft": ("Entwurf", "draft"),
    "rules.status.active": ("aktiv", "active"),
    "rules.status.history": ("früher aktiv", "history"),
    "rules.status.discarded": ("verworfen", "discarded"),
    "rules.done.activate": ("Die Version ist jetzt aktiv.", "The version is active now."),
    "rules.done.discard": ("Der Entwurf wurde verworfen.", "The draft was discarded."),
    "rules.done.rollback": ("Die vorherige Version ist wieder aktiv.", "The previous version is active again."),
    "rules.version_title": ("Regeln, Version {n} ({status})", "Rules, version {n} ({status})"),
    "rules.back": ("Zurück zur Übersicht", "Back to the overview"),
    "rules.header": ("Kopf (Version, Beschreibung)", "Header (version, description)"),
    "rules.rule": ("Regel {id}", "Rule {id}"),
    "rules.rule_new": ("Neue Regel (leer lassen, wenn keine)", "New rule (leave empty for none)"),
    "rules.save": ("Entwurf speichern", "Save the draft"),
    "rules.saved": ("Der Entwurf ist gespeichert.", "The draft is saved."),
    "rules.invalid": (
        "Der Entwurf hat Fehler; sie stehen bei den Regeln. Nichts wurde gespeichert.",
        "The draft has errors, shown at the rules. Nothing was saved.",
    ),
    "rules.problems": ("Fehler in dieser Regel", "Errors in this rule"),
    "rules.not_activated": (
        "Nicht aktiviert: der Entwurf hat Fehler (etwa Namen, die es im Verzeichnis nicht mehr gibt); sie stehen bei "
        "den Regeln.",
        "Not activated: the draft has errors (such as names the directory no longer has), shown at the rules.",
    ),
    "rules.rollback_refused": (
        "Nicht zurückgesetzt: die frühere Version hat diese Fehler.",
        "Not rolled back: the earlier version has these errors.",
    ),
    # the lead of a validator problem (its code; the detail follows as the validator writes it)
    "rules.problem.missing_field": ("Pflichtangabe fehlt", "Required field missing"),
    "rules.problem.unknown_field": ("Unbekanntes Feld", "Unknown field"),
    "rules.problem.unknown_condition": ("Unbekannte Bedingung", "Unknown condition"),
    "rules.problem.ambiguous_condition": (
        "Mehrere Bedingungen in einem Eintrag (mit „all“ zusammenfassen)",
        "Several conditions in one entry (wrap them in all)",
    ),
    "rules.problem.unknown_action": ("Unbekannte Aktion", "Unknown action"),
    "rules.problem.unknown_zone": ("Unbekannter Bereich der Seite", "Unknown zone of the page"),
    "rules.problem.unknown_invoice_field": ("Unbekanntes Rechnungsfeld", "Unknown invoice field"),
    "rules.problem.unknown_intake_fact": ("Unbekannte Eingangsangabe", "Unknown intake fact"),
    "rules.problem.bad_id": (
        "Ungültige Kennung (Kleinbuchstaben, Ziffern, - _ .)", "Invalid id (lowercase letters, digits, - _ .)"
    ),
    "rules.problem.bad_value": ("Ungültiger Wert", "Invalid value"),
    "rules.problem.bad_region": ("Ungültiger Seitenbereich", "Invalid region"),
    "rules.problem.bad_operator": ("Ungültiger Vergleich", "Invalid comparison"),
    "rules.problem.duplicate_id": ("Kennung doppelt vergeben", "Id used twice"),
    "rules.problem.unreachable": ("Diese Regel wird nie geprüft", "This rule is never evaluated"),
    "rules.problem.yaml_syntax": ("Kein gültiges YAML", "Not valid YAML"),
    "rules.problem.not_a_mapping": ("Keine Regel (id, priority, when, then, confidence)", "Not a rule"),
    "rules.problem.too_long": ("Zu lang", "Too long"),
    "rules.problem.no_action": ("Die Regel tut nichts", "The rule does nothing"),
    "rules.problem.term_not_one_word": (
        "„term“ ist ein einzelnes Wort (mehrere Wörter: „phrase“)", "A term is one word (several: phrase)"
    ),
    "rules.problem.phrase_too_short": ("Phrase zu kurz", "Phrase too short"),
    "rules.problem.empty_operand": ("Leere Angabe", "Empty value"),
    "rules.problem.bad_regex": ("Ungültiger regulärer Ausdruck", "Invalid regular expression"),
    "rules.problem.regex_too_long": ("Regulärer Ausdruck zu lang", "Regular expression too long"),
    "rules.problem.unsafe_regex": (
        "Regulärer Ausdruck zu aufwendig (Gefahr langer Laufzeit)", "Regular expression too costly to run"
    ),
    "rules.problem.unknown_postbox": ("Diesen Postkorb gibt es im Verzeichnis nicht", "No such postbox"),
    "rules.problem.unknown_person": ("Diese Person gibt es im Verzeichnis nicht", "No such person"),
    "rules.problem.unknown_department": ("Dieses Amt gibt es im Verzeichnis nicht", "No such department"),
    "rules.problem.unknown_document_type": (
        "Diese Dokumentart kennt das Typmodell nicht", "The type model does not know this document type"
    ),
    "rules.problem.header_not_a_mapping": ("Ungültiger Kopf", "Invalid header"),
    "rules.problem.rules_in_header": ("Regeln im Kopf", "Rules in the header"),
    # the detail of a validator problem (its code; the values it names); the REST API and the CLI write English
    "rules.whole": ("Regelwerk", "Rule set"),
    "rules.detail.missing_field": ("„{name}“ fehlt.", "'{name}' is required."),
    "rules.detail.unknown_field": ("Das Feld „{name}“ gibt es hier nicht.", "Unknown field '{name}'."),
    "rules.detail.unknown_condition": (
        "Die Bedingung „{name}“ gibt es nicht; möglich: {known}.", "Unknown condition '{name}'; known: {known}."
    ),
    "rules.detail.ambiguous_condition": (
        "Eine Bedingung je Eintrag; gefunden: {found}. Bitte in „all“ zusammenfassen.",
        "One condition per mapping; found {found}: wrap them in 'all'.",
    ),
    "rules.detail.unknown_action": (
        "Die Aktion „{name}“ gibt es nicht; möglich: {known}.", "Unknown action '{name}'; known: {known}."
    ),
    "rules.detail.unknown_zone": (
        "Den Seitenbereich „{name}“ gibt es nicht; möglich: {known}.", "Unknown zone '{name}'; known: {known}."
    ),
    "rules.detail.unknown_invoice_field": (
        "Das Rechnungsfeld „{name}“ gibt es nicht.", "Unknown invoice field '{name}'."
    ),
    "rules.detail.unknown_intake_fact": (
        "Die Eingangsangabe „{name}“ gibt es nicht; möglich: station, channel, page_count, sender, sender_domain.",
        "Unknown intake fact '{name}'; known: station, channel, page_count, sender, sender_domain.",
    ),
    "rules.detail.bad_id": (
        "Eine Kennung besteht aus Kleinbuchstaben, Ziffern, „-“, „_“ und „.“ (höchstens 80 Zeichen).",
        "An id uses lowercase letters, digits, '-', '_' and '.' (at most 80).",
    ),
    "rules.detail.bad_value": ("Der Wert „{value}“ passt hier nicht.", "The value '{value}' does not fit here."),
    "rules.detail.bad_region": (
        "{name} ist [von, bis] mit 0 ≤ von < bis ≤ 500 mm.", "{name} is [from, to] with 0 <= from < to <= 500 mm."
    ),
    "rules.detail.bad_operator": (
        "Genau ein Vergleich: exists, equals, one_of, gt, gte, lt oder lte (angegeben: {given}).",
        "Exactly one operator of exists, equals, one_of, gt, gte, lt, lte (given: {given}).",
    ),
    "rules.detail.duplicate_id": ("Die Kennung „{name}“ ist doppelt vergeben.", "The id '{name}' is used twice."),
    "rules.detail.unreachable": (
        "Wird nie geprüft: Regel „{blocker}“ (Priorität {priority}) passt auf jedes Dokument und hat stop: true.",
        "Never evaluated: rule '{blocker}' (priority {priority}) matches every document and has stop: true.",
    ),
    "rules.detail.yaml_syntax": ("Kein gültiges YAML (Zeile {line}, Spalte {column}).",
                                 "Not valid YAML (line {line}, column {column})."),
    "rules.detail.not_a_mapping": (
        "Eine Regel ist eine Zuordnung mit id, priority, when, then und confidence.",
        "A rule is a mapping with id, priority, when, then and confidence.",
    ),
    "rules.detail.header_not_a_mapping": (
        "Der Kopf ist eine Zuordnung (version, description).", "The header is a mapping (version, description)."
    ),
    "rules.detail.rules_in_header": (
        "Die Regeln gehören in ihre eigenen Felder, nicht in den Kopf.",
        "The rules go into their own fields, not into the header.",
    ),
    "rules.detail.too_long": ("Höchstens {max} Zeichen.", "At most {max} characters."),
    "rules.detail.no_action": ("„then“ braucht mindestens eine Aktion.", "'then' needs at least one action."),
    "rules.detail.term_not_one_word": (
        "Ein „term“ ist ein einzelnes Wort; für mehrere Wörter „phrase“ nehmen.",
        "A term is one word; use 'phrase' for several.",
    ),
    "rules.detail.phrase_too_short": (
        "Eine „phrase“ hat mindestens zwei Wörter; für eines „term“ nehmen.",
        "A phrase has at least two words; use 'term' for one.",
    ),
    "rules.detail.empty_operand": (
        "Ein räumlicher Bezug braucht mindestens ein Wort.", "A spatial operand needs at least one word."
    ),
    "rules.detail.bad_regex": (
        "Kein gültiger regulärer Ausdruck ({error}).", "Not a valid regular expression ({error})."
    ),
    "rules.detail.regex_too_long": (
        "Ein regulärer Ausdruck hat höchstens {max} Zeichen.", "A regular expression has at most {max} characters."
    ),
    "rules.detail.unsafe_regex": (
        "Dieser Ausdruck kann sehr lange laufen (verschachtelte oder zu viele offene Wiederholungen wie (a+)+); "
        "bitte genaue Anzahlen schreiben, etwa \\d{{5}}.",
        "This expression can run for very long (nested or too many open-ended repeats such as (a+)+); write exact "
        "counts such as \\d{{5}}.",
    ),
    "rules.detail.unknown_postbox": (
        "Den Postkorb „{name}“ gibt es im Verzeichnis „{directory}“ nicht.",
        "No postbox '{name}' in the organisation directory '{directory}'.",
    ),
    "rules.detail.unknown_person": (
        "Die Person „{name}“ gibt es im Verzeichnis „{directory}“ nicht.",
        "No person '{name}' in the organisation directory '{directory}'.",
    ),
    "rules.detail.unknown_department": (
        "Das Amt „{name}“ gibt es im Verzeichnis „{directory}“ nicht.",
        "No department '{name}' in the organisation directory '{directory}'.",
    ),
    "rules.detail.person_moved": (
        "Die Person „{name}“ ist umgezogen (von „{before}“ nach „{after}“); die Regel leitet nach „{route_to}“.",
        "The person '{name}' moved (from '{before}' to '{after}'); the rule routes to '{route_to}'.",
    ),
    "rules.problem.person_moved": ("Person umgezogen", "Person moved"),
    "rules.warning": ("Regelwerk „{name}“, Version {version} ({status}), Regel „{rule}“",
                      "Rule set '{name}', version {version} ({status}), rule '{rule}'"),
    "rules.detail.unknown_document_type": (
        "Die Dokumentart „{name}“ kennt das Typmodell nicht; bekannt: {known}.",
        "The type model does not know the document type '{name}'; known: {known}.",
    ),
    "rules.simulate": ("Gegen die letzten {n} Dokumente simulieren", "Simulate against the last {n} documents"),
    "rules.activate": ("Aktivieren", "Activate"),
    "rules.unsaved": ("Ungespeicherte Änderungen: erst speichern. Simulieren und Aktivieren gelten der gespeicherten "
                      "Fassung.", "Unsaved changes: save first. Simulate and activate work on the saved version."),
    "rules.discard": ("Entwurf verwerfen", "Discard the draft"),
    "rules.readonly": (
        "Nur Entwürfe lassen sich ändern. Legen Sie einen neuen Entwurf an.",
        "Only drafts can be changed. Create a new draft.",
    ),
    "sim.title": (
        "Simulation: aktive Version {old} → Version {new}", "Simulation: active version {old} → version {new}"
    ),
    "sim.totals": (
        "{documents} Dokumente: unverändert {unchanged}, geändert {changed}, neu zugestellt {newly_routed}, "
        "neu in Prüfung {newly_review}",
        "{documents} documents: unchanged {unchanged}, changed {changed}, newly routed {newly_routed}, "
        "newly in review {newly_review}",
    ),
    "sim.none": ("Keine Änderungen.", "No changes."),
    "sim.col.change": ("Änderung", "Change"),
    "sim.col.old": ("Bisher", "Before"),
    "sim.col.new": ("Neu", "After"),
    "explain.title": ("Erklärung: {name}", "Explanation: {name}"),
    "explain.rules": ("Ausgewertete Regeln", "Rules evaluated"),
    "explain.none": ("Keine Regel hat gegriffen.", "No rule matched."),
    "explain.missed": ("{n} Regeln haben nicht gegriffen", "{n} rules did not match"),
    "explain.matched": ("hat gegriffen", "matched"),
    "explain.not_matched": ("hat nicht gegriffen", "did not match"),
    "explain.decided": ("Entschieden von {by}: {postbox}", "Decided by {by}: {postbox}"),
    # dashboard
    "dash.title": ("Übersicht", "Dashboard"),
    "dash.period": ("Die letzten {days} Tage.", "The last {days} days."),
    "dash.automation": ("Automatisch zugestellt", "Routed automatically"),
    "dash.backlog": ("Warten auf Prüfung", "Waiting for review"),
    "dash.oldest": ("Ältestes wartet seit", "Oldest waiting for"),
    "dash.review_time": ("Zeit in Prüfung (Median)", "Time in review (median)"),
    "dash.pages_per_minute": ("Seiten pro Minute (letzte Stunde)", "Pages per minute (last hour)"),
    "dash.dead_webhooks": ("Webhooks aufgegeben", "Webhooks given up"),
    "dash.chart.documents": ("Dokumente pro Tag", "Documents per day"),
    "dash.chart.automation": ("Anteil automatisch zugestellt pro Tag", "Share routed automatically per day"),
    "dash.chart.pages": ("Gelesene Seiten pro Tag", "Pages read per day"),
    "dash.table": ("Zahlen pro Tag", "Figures per day"),
    "dash.col.day": ("Tag", "Day"),
    "dash.col.documents": ("Dokumente", "Documents"),
    "dash.col.automated": ("automatisch", "automatic"),
    "dash.col.reviewed": ("geprüft", "reviewed"),
    "dash.col.rate": ("Quote", "Rate"),
    "dash.col.rescans": ("Neuscans", "Rescans"),
    "dash.col.pages": ("Seiten", "Pages"),
    "dash.col.webhook_failures": ("Webhook-Fehler", "Webhook failures"),
    # directory and suppliers
    "dir.title": ("Organisationsverzeichnis", "Organisation directory"),
    "dir.source.installed": ("Installiertes Verzeichnis", "Installed directory"),
    "dir.source.default": ("Mitgeliefertes Standardverzeichnis", "The default directory shipped"),
    "dir.export": ("Exportieren", "Export"),
    "dir.saved": ("Das Verzeichnis ist installiert.", "The directory is installed."),
    "dir.rule_warnings": ("Diese Regeln nennen Postkörbe, Personen oder Ämter, die es nicht mehr gibt, oder Personen, "
                          "die das Amt gewechselt haben. Bitte die Regeln prüfen:",
                          "These rules name postboxes, persons or departments that are gone, or persons who moved "
                          "to another department. Please check the rules:"),
    "dir.invalid": (
        "Das Verzeichnis hat Fehler und wurde nicht installiert:", "The directory has errors and was not installed:"
    ),
    # the detail of a directory problem (its code; the values it names); the REST API and the CLI write English
    "dir.detail.tasks_not_a_list": (
        "Amt „{department}“: „tasks“ ist eine Liste.", "Department '{department}': 'tasks' is a list."
    ),
    "dir.detail.bad_task": (
        "Amt „{department}“, Aufgabe Nr. {number}: ein Name oder eine Zuordnung (task, words, postbox, unit_names).",
        "Department '{department}', task #{number}: a name or a mapping (task, words, postbox, unit_names).",
    ),
    "dir.detail.task_unknown_keys": (
        "Amt „{department}“, Aufgabe Nr. {number}: unbekannte Angaben {keys}.",
        "Department '{department}', task #{number}: unknown keys {keys}.",
    ),
    "dir.detail.bad_retention_days": (
        "Postkorb „{postbox}“: retention_days ist eine Zahl von Tagen ab 0 (0: für immer), nicht „{value}“.",
        "Postbox '{postbox}': retention_days is a number of days >= 0 (0: forever), not '{value}'.",
    ),
    "dir.detail.department_missing_id": (
        "Amt Nr. {number}: die Kennung (id) fehlt.", "Department #{number}: the id is missing."
    ),
    "dir.detail.person_missing_id": (
        "Person Nr. {number}: die Kennung (id) fehlt.", "Person #{number}: the id is missing."
    ),
    "dir.detail.postbox_missing_id": (
        "Postkorb Nr. {number}: die Kennung (id) fehlt.", "Postbox #{number}: the id is missing."
    ),
    "dir.detail.department_duplicate_id": (
        "Die Amtskennung „{id}“ ist doppelt vergeben.", "The department id '{id}' is used twice."
    ),
    "dir.detail.person_duplicate_id": (
        "Die Personenkennung „{id}“ ist doppelt vergeben.", "The person id '{id}' is used twice."
    ),
    "dir.detail.postbox_duplicate_id": (
        "Die Postkorbkennung „{id}“ ist doppelt vergeben.", "The postbox id '{id}' is used twice."
    ),
    "dir.detail.task_missing_name": (
        "Amt „{department}“, Aufgabe {task}: der Name der Aufgabe fehlt.",
        "Department '{department}', task {task}: the task's name is missing.",
    ),
    "dir.detail.task_twice": (
        "Amt „{department}“: die Aufgabe „{task}“ steht zweimal da.",
        "Department '{department}': the task '{task}' is listed twice.",
    ),
    "dir.detail.task_unknown_postbox": (
        "Amt „{department}“, Aufgabe „{task}“: den Postkorb „{postbox}“ gibt es nicht.",
        "Department '{department}', task '{task}': no postbox '{postbox}'.",
    ),
    "dir.detail.task_foreign_postbox": (
        "Amt „{department}“, Aufgabe „{task}“: der Postkorb „{postbox}“ gehört zu einem anderen Amt.",
        "Department '{department}', task '{task}': the postbox '{postbox}' belongs to another department.",
    ),
    "dir.detail.task_no_word": (
        "Amt „{department}“, Aufgabe „{task}“: kein Wort mit mindestens 3 Buchstaben.",
        "Department '{department}', task '{task}': no word of at least 3 letters.",
    ),
    "dir.detail.task_unit_without_postbox": (
        "Amt „{department}“, Aufgabe „{task}“: unit_names brauchen einen eigenen Postkorb der Aufgabe (Post "
        "an die Stelle geht dorthin).",
        "Department '{department}', task '{task}': unit_names need the task's own postbox (mail to the unit "
        "goes there).",
    ),
    "dir.detail.task_empty_unit_name": (
        "Amt „{department}“, Aufgabe „{task}“: ein leerer Name der Stelle.",
        "Department '{department}', task '{task}': an empty unit name.",
    ),
    "dir.detail.department_bad_number": (
        "Amt „{department}“: „{number}“ ist kein Wort mit Nummer (wie „FB 3“).",
        "Department '{department}': '{number}' is not a unit word and a number ('FB 3').",
    ),
    "dir.detail.department_empty_unit_name": (
        "Amt „{department}“: ein leerer Name der Stelle.", "Department '{department}': an empty unit name."
    ),
    "dir.detail.department_missing_name": (
        "Amt „{department}“: der Name fehlt.", "Department '{department}': the name is missing."
    ),
    "dir.detail.department_unknown_postbox": (
        "Amt „{department}“: den Postkorb „{postbox}“ gibt es nicht.",
        "Department '{department}': no postbox '{postbox}'.",
    ),
    "dir.detail.department_bad_aktenzeichen": (
        "Amt „{department}“: „{pattern}“ ist kein gültiger regulärer Ausdruck für Aktenzeichen ({error}).",
        "Department '{department}': '{pattern}' is not a valid Aktenzeichen regex ({error}).",
    ),
    "dir.detail.postbox_unknown_department": (
        "Postkorb „{postbox}“: das Amt „{department}“ gibt es nicht.",
        "Postbox '{postbox}': no department '{department}'.",
    ),
    "dir.detail.person_missing_last_name": (
        "Person „{person}“: der Nachname (last_name) fehlt.", "Person '{person}': the last name is missing."
    ),
    "dir.detail.person_unknown_department": (
        "Person „{person}“: das Amt „{department}“ gibt es nicht.", "Person '{person}': no department '{department}'."
    ),
    "dir.detail.person_unknown_deputy": (
        "Person „{person}“: die Vertretung „{deputy}“ gibt es nicht.", "Person '{person}': no deputy '{deputy}'."
    ),
    "dir.detail.person_unknown_postbox": (
        "Person „{person}“: den Postkorb „{postbox}“ gibt es nicht.", "Person '{person}': no postbox '{postbox}'."
    ),
    "dir.detail.person_foreign_postbox": (
        "Person „{person}“: der Postkorb „{postbox}“ gehört nicht zu ihrem Amt.",
        "Person '{person}': the postbox '{postbox}' is not one of their department's.",
    ),
    "dir.detail.not_a_list": ("„{name}“ ist eine Liste von Zuordnungen.", "'{name}' is a list of mappings."),
    "dir.detail.yaml_syntax": (
        "Kein gültiges YAML (Zeile {line}, Spalte {column}).", "Not valid YAML (line {line}, column {column})."
    ),
    "dir.detail.not_a_mapping": (
        "Das Verzeichnis ist eine Zuordnung mit departments und persons.",
        "The directory is a mapping with departments and persons.",
    ),
    "dir.detail.csv_without_kind": (
        "Eine CSV-Datei braucht eine Kopfzeile mit der Spalte „kind“.",
        "A CSV directory needs a header with a 'kind' column.",
    ),
    "dir.detail.csv_unknown_kind": (
        "Zeile {line}: die Art „{kind}“ gibt es nicht (department, person, postbox).",
        "Line {line}: unknown kind '{kind}' (department, person, postbox).",
    ),
    "dir.problem.too_large": ("Die Datei ist zu groß.", "The file is too large."),
    "dir.problem.no_file": ("Bitte eine Datei wählen.", "Please choose a file."),
    "dir.postboxes": ("Postkörbe", "Postboxes"),
    "dir.departments_persons": ("{d} Ämter und {p} Personen", "{d} departments and {p} persons"),
    "dir.col.id": ("Kennung", "Id"),
    "dir.col.name": ("Name", "Name"),
    "dir.col.department": ("Amt", "Department"),
    "dir.col.aliases": ("Andere Namen", "Other names"),
    "dir.edit": ("Bearbeiten", "Edit"),
    "dir.yaml": ("Verzeichnis (YAML)", "Directory (YAML)"),
    "dir.save": ("Prüfen und installieren", "Check and install"),
    "dir.csv_installed": (
        "Das installierte Verzeichnis ist eine CSV-Datei: bitte als Datei importieren.",
        "The installed directory is a CSV file: please import it as a file.",
    ),
    "dir.import": ("Importieren", "Import"),
    "dir.file": ("Datei (YAML oder CSV)", "File (YAML or CSV)"),
    "sup.title": ("Lieferanten-Stammdaten", "Supplier master data"),
    "sup.export": ("Als CSV exportieren", "Export as CSV"),
    "sup.none": ("Noch keine Lieferanten.", "No suppliers yet."),
    "sup.col.creditor": ("Kreditorennummer", "Creditor number"),
    "sup.col.name": ("Name", "Name"),
    "sup.ibans": ("IBANs (durch Komma getrennt)", "IBANs (comma separated)"),
    "sup.edit": ("Anlegen oder ändern", "Create or change"),
    "sup.edit.hint": (
        "Ein Lieferant mit vorhandener Kreditorennummer wird überschrieben.",
        "A supplier with an existing creditor number is replaced.",
    ),
    "sup.save": ("Speichern", "Save"),
    "sup.import": ("CSV importieren", "Import CSV"),
    "sup.file": ("CSV-Datei (Kreditoren)", "CSV file (creditors)"),
    "sup.done.saved": ("Der Lieferant ist gespeichert.", "The supplier is saved."),
    "sup.edit_link": ("Bearbeiten", "Edit"),
    "sup.edit_one": ("Bearbeiten: {name}", "Edit: {name}"),
    "sup.done.imported": ("Die Lieferanten sind importiert.", "The suppliers are imported."),
    "sup.problem.required": ("Kreditorennummer und Name sind nötig.", "Creditor number and name are required."),
    "sup.problem.iban": ("Eine IBAN hat falsche Prüfziffern.", "An IBAN has wrong check digits."),
    "sup.problem.vat_id": ("Die USt-IdNr. ist ungültig.", "The VAT id is invalid."),
    "sup.problem.file": ("Bitte eine Datei wählen.", "Please choose a file."),
    # user accounts
    "users.title": ("Benutzerkonten", "User accounts"),
    "users.role": ("Rolle", "Role"),
    "users.scope": ("Bereich", "Scope"),
    "users.last_signin": ("Letzte Anmeldung", "Last sign-in"),
    "users.state": ("Zustand", "State"),
    "users.active": ("aktiv", "active"),
    "users.locked": ("gesperrt", "locked"),
    "users.disabled": ("deaktiviert", "disabled"),
    "users.unlock": ("Entsperren", "Unlock"),
    "users.disable": ("Deaktivieren", "Disable"),
    "users.create": ("Konto anlegen", "Create account"),
    "users.display_name": ("Anzeigename", "Display name"),
    "users.postboxes": ("Postkörbe (Sachbearbeitung, DMS)", "Postboxes (clerk, DMS)"),
    "users.person": ("Person im Verzeichnis (vertrauliche Post)", "Directory person (confidential mail)"),
    "users.station": ("Station (Scanstation)", "Station (scanning station)"),
    "users.done.created": ("Das Konto ist angelegt.", "The account is created."),
    "users.done.unlock": ("Das Konto ist entsperrt.", "The account is unlocked."),
    "users.done.disable": ("Das Konto ist deaktiviert.", "The account is disabled."),
    "users.done.password": ("Das Passwort ist geändert.", "The password is changed."),
    "warning.blank_page": ("Seite {page} ist leer", "page {page} is blank"),
    "warning.all_pages_blank": ("Alle Seiten sind leer: Scanner prüfen", "every page is blank: check the scanner"),
    "warning.skewed": ("Seite {page} war schief eingelegt", "page {page} was skewed"),
    "warning.rotated": ("Seite {page} war gedreht", "page {page} was rotated"),
    "warning.blurry": ("Seite {page} ist unscharf", "page {page} is blurry"),
    "warning.low_contrast": ("Seite {page} hat wenig Kontrast", "page {page} has low contrast"),
    "warning.low_ocr_confidence": ("Seite {page} ist schwer lesbar", "page {page} is hard to read"),
    "reason.missing": ("Fehlt: {field}", "Missing: {field}"),
    "reason.unsure": ("Unsicher: {field} ({percent} %)", "Uncertain: {field} ({percent} %)"),
    # ages
    "age.minutes": ("{n} Min.", "{n} min"),
    "age.hours": ("{n} Std.", "{n} h"),
    "age.days": ("{n} Tg.", "{n} d"),
}


#: The document types a reviewer chooses from (those the type model knows), in the catalogue's order.
DOCUMENT_TYPES: Final = tuple(key.removeprefix("doctype.") for key in CATALOGUE if key.startswith("doctype."))


def text(key: str, language: str, **values: object) -> str:
    """The text of ``key`` in ``language`` (German when the language is unknown), placeholders filled."""
    german, english = CATALOGUE[key]
    chosen = english if language == "en" else german
    return chosen.format(**values) if values else chosen


def detail(scope: str, code: str, values: Mapping[str, object], fallback: str, language: str) -> str:
    """What a validation problem (``scope``: ``rules`` or ``dir``) says, in ``language``: the catalogue's
    ``{scope}.detail.{code}`` filled with the values the problem names; the validator's own (English) text where the
    catalogue has none or the problem lacks a value the text needs."""
    key = f"{scope}.detail.{code}"
    if key not in CATALOGUE:
        return fallback
    try:
        return text(key, language, **values) if values else text(key, language).format()
    except (KeyError, IndexError):
        return fallback


_MISSING = re.compile(r"^missing (\w+)$")
_UNSURE = re.compile(r"^low confidence (\w+) \(([\d.]+)\)$")
_CHECK = re.compile(r"^(\w+): (.+)$")


def reason(raw: str, language: str) -> str:
    """A review reason of the pipeline (English, for logs and the API) as a reviewer reads it: the known kinds
    (a missing or uncertain invoice field, a failed check) in the user's language, anything else as it is."""
    if match := _MISSING.match(raw):
        return text("reason.missing", language, field=_field(match[1], language))
    if match := _UNSURE.match(raw):
        return text("reason.unsure", language, field=_field(match[1], language),
                    percent=round(float(match[2]) * 100))
    if (match := _CHECK.match(raw)) and f"problem.{match[1]}" in CATALOGUE:
        return f"{text('problem.' + match[1], language)} ({match[2]})"
    return raw


def _field(name: str, language: str) -> str:
    return text(f"field.{name}", language) if f"field.{name}" in CATALOGUE else name


def age(seconds: float, language: str) -> str:
    """A short age: minutes below two hours, hours below two days, else days."""
    minutes = max(0, int(seconds // 60))
    if minutes < 120:
        return text("age.minutes", language, n=minutes)
    if minutes < 48 * 60:
        return text("age.hours", language, n=minutes // 60)
    return text("age.days", language, n=minutes // (24 * 60))
