"""Letters of kinds the project did not know, written by the routing helper to TUNE the routing memory on
(issue 14): every figure measured on them is a figure on data that was tuned on. The frozen measure is the
independent ``tests/data/independent/letters2/kinds``.

    .venv/bin/python bench/data/learning-dev/make_letters.py     # writes DEV-*.pdf + DEV-*.truth.json here

Per kind six letters by different senders in their own words (town-addressed: only the content can tell), as
born-digital PDFs (DIN 5008-like layout, reportlab).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

HERE = Path(__file__).resolve().parent
TOWN = ["Stadt Musterstadt", "Rathausplatz 1", "12345 Musterstadt"]
TOWN2 = ["Stadtverwaltung Musterstadt", "Postfach 10 11 20", "12301 Musterstadt"]
SENDERS = [
    ("Erika Beispiel", "Am Hang 3", "12350 Beispielheim"),
    ("Jonas Weber", "Lindenallee 17", "12345 Musterstadt"),
    ("Gisela Hartmann", "Kirchgasse 2", "12346 Musterstadt-Nord"),
    ("Dr. Peter Olszewski", "Talstraße 41a", "12345 Musterstadt"),
    ("Familie Demir", "Rosenweg 8", "12347 Musterstadt"),
    ("Annette Vogt", "Marktstraße 5", "12345 Musterstadt"),
]

# kind -> (postbox, [(subject, body), ...]) in the order the town receives them
KINDS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "stolpersteine": ("schulamt", [
        ("Verlegung von Stolpersteinen",
         "unsere Geschichtswerkstatt möchte vor dem Haus Bahnhofstraße 12 zwei Stolpersteine für die 1942 "
         "deportierten Geschwister Rosenthal verlegen lassen. Der Künstler Gunter Demnig hat einen Termin im "
         "Frühjahr angeboten. Wir bitten um Zustimmung der Stadt und um Unterstützung bei der Gedenkfeier."),
        ("Gedenken an meine Großeltern",
         "meine Großeltern wurden von den Nationalsozialisten verfolgt und ermordet. Ich würde gern vor ihrem "
         "letzten frei gewählten Wohnort einen Stolperstein setzen lassen. An wen kann ich mich wenden und welche "
         "Unterlagen brauchen Sie für das Erinnern an die Opfer?"),
        ("Stolperstein beschädigt",
         "beim Spaziergang ist mir aufgefallen, dass der Gedenkstein für Frieda Levy in der Judengasse stark "
         "verschmutzt und die Messingplatte verkratzt ist. Kann die Stadt die Reinigung der Stolpersteine "
         "veranlassen? Unsere Schulklasse würde beim Putzen zum Gedenktag helfen."),
        ("Projekt Erinnerungskultur an der Realschule",
         "die Klasse 10b recherchiert die Biografien jüdischer Familien unserer Stadt, die im Holocaust ums Leben "
         "kamen. Wir möchten für drei Opfer Stolpersteine verlegen lassen und bitten um Auskunft, wie die Stadt "
         "solche Gedenksteine genehmigt und ob es eine Förderung der Erinnerungsarbeit gibt."),
        ("Patenschaft für einen Stolperstein",
         "ich möchte die Patenschaft für einen Stolperstein übernehmen und die Kosten von 120 Euro tragen. Das "
         "Opfer, Herr Salomon Katz, lebte bis zu seiner Deportation in der Mühlenstraße. Bitte teilen Sie mir mit, "
         "wie die Verlegung des Gedenksteins abläuft."),
        ("Liste der verlegten Gedenksteine",
         "für eine Führung zum 9. November benötige ich eine Übersicht aller in Musterstadt verlegten "
         "Stolpersteine mit den Namen der verfolgten Menschen. Gibt es eine solche Liste bei der Stadt oder "
         "eine Broschüre zum Gedenken an die NS-Opfer?"),
    ]),
    "balkonkraftwerk": ("umweltamt", [
        ("Förderung Balkonkraftwerk",
         "ich habe gelesen, dass die Stadt den Kauf von Stecker-Solargeräten bezuschusst. Ich möchte ein "
         "Balkonkraftwerk mit 800 Watt an meinem Balkongeländer anbringen. Wie hoch ist der Zuschuss und welche "
         "Nachweise muss ich einreichen?"),
        ("Zuschuss für Mini-Solaranlage",
         "anbei sende ich die Rechnung über mein neues Steckersolarmodul samt Wechselrichter und die Bestätigung "
         "der Anmeldung im Marktstammdatenregister. Ich bitte um Auszahlung des städtischen Zuschusses für die "
         "Mini-PV-Anlage."),
        ("Photovoltaik am Balkon einer Mietwohnung",
         "als Mieterin darf ich laut Vermieter zwei Solarmodule am Balkon befestigen. Fördert die Stadt auch "
         "Balkon-Solaranlagen in Mietwohnungen, und muss der Vermieter den Förderantrag unterschreiben?"),
        ("Antrag Klimaschutz-Förderprogramm Solarstrom",
         "wir beantragen den Zuschuss aus dem Programm Solarstrom für alle für unser Stecker-Solargerät "
         "(2 Module à 400 Wp). Der Einspeisezähler wurde vom Netzbetreiber getauscht. Bitte bestätigen Sie den "
         "Eingang unseres Förderantrags."),
        ("Balkonsolaranlage - noch Fördermittel vorhanden?",
         "sind im Fördertopf für Balkonkraftwerke noch Mittel übrig? Ich würde gern im Frühjahr eine kleine "
         "Solaranlage mit Wechselrichter kaufen, möchte aber vorher wissen, ob die Stadt den Zuschuss noch "
         "gewährt."),
        ("Rückfrage zu meinem Förderantrag Steckersolar",
         "vor sechs Wochen habe ich den Antrag auf Förderung meines Balkonkraftwerks gestellt. Bis heute habe "
         "ich keinen Bescheid über den Zuschuss erhalten. Können Sie mir sagen, wie weit die Bearbeitung ist?"),
    ]),
    "ehrenamtskarte": ("sozialamt", [
        ("Antrag auf Ehrenamtskarte",
         "ich engagiere mich seit vier Jahren ehrenamtlich bei der Tafel, etwa sechs Stunden pro Woche. Hiermit "
         "beantrage ich die Ehrenamtskarte. Die Bestätigung des Vereins über meine freiwillige Tätigkeit liegt bei."),
        ("Ehrenamtscard für unsere Helferinnen",
         "der Besuchsdienst im Seniorenheim St. Anna wird von acht freiwilligen Helferinnen getragen. Wir möchten "
         "für sie die Ehrenamtscard beantragen, damit ihr unentgeltliches Engagement gewürdigt wird. Welche "
         "Formulare benötigen Sie?"),
        ("Vergünstigungen mit der Ehrenamtskarte",
         "seit März besitze ich die Ehrenamtskarte. Welche Vergünstigungen gibt es damit in Musterstadt, zum "
         "Beispiel im Hallenbad oder im Museum? Eine Liste der Partner wäre hilfreich."),
        ("Verlängerung Ehrenamtskarte",
         "meine Karte für Ehrenamtliche läuft Ende des Jahres ab. Ich bin weiterhin als Übungsleiter im "
         "Sportverein freiwillig aktiv und bitte um Verlängerung. Ein neues Passbild lege ich bei."),
        ("Anerkennung bürgerschaftlichen Engagements",
         "mein Mann leitet seit 15 Jahren ehrenamtlich die Jugendgruppe der Pfadfinder. Gibt es bei der Stadt eine "
         "Auszeichnung oder eine Karte für so viel freiwilliges Engagement? Er würde sich über eine Würdigung "
         "sehr freuen."),
        ("Ehrenamtskarte verloren",
         "leider habe ich meine Ehrenamtskarte beim Umzug verloren. Ich helfe weiterhin unentgeltlich in der "
         "Flüchtlingshilfe mit. Bitte stellen Sie mir eine Ersatzkarte für Ehrenamtliche aus."),
    ]),
    "einwohnerfragestunde": ("hauptamt", [
        ("Einwohnerfragestunde im Stadtrat",
         "in der nächsten Sitzung des Stadtrates möchte ich in der Einwohnerfragestunde eine Frage zur "
         "Schließung des Jugendtreffs stellen. Bitte teilen Sie mir mit, bis wann die Frage schriftlich "
         "eingereicht werden muss."),
        ("Frage für die Ratssitzung am 14. Dezember",
         "für die Fragestunde der Einwohner in der Ratssitzung am 14. Dezember reiche ich folgende Frage ein: "
         "Wann wird der Beschluss zur Sanierung der Turnhalle umgesetzt? Ich werde in der Sitzung anwesend sein."),
        ("Rederecht in der Gemeinderatssitzung",
         "unsere Bürgerinitiative bittet darum, in der öffentlichen Sitzung des Gemeinderats zu Wort kommen zu "
         "dürfen. Wie ist die Fragestunde geregelt, und können wir die Tagesordnung vorab erhalten?"),
        ("Einwohnerfrage an den Rat",
         "ich möchte an die Mitglieder des Stadtrats eine Einwohnerfrage richten: Warum wurde die Niederschrift "
         "der letzten Sitzung noch nicht veröffentlicht? Bitte nehmen Sie meine Frage in die nächste "
         "Fragestunde auf."),
        ("Anmeldung zur Fragestunde",
         "hiermit melde ich mich zur Einwohnerfragestunde der kommenden Stadtratssitzung an. Meine Frage betrifft "
         "die Beschlussvorlage zum neuen Parkraumkonzept. Wo finde ich die Sitzungsunterlagen?"),
        ("Tagesordnung und Fragestunde",
         "bitte senden Sie mir die Tagesordnung der nächsten öffentlichen Ratssitzung. Ich würde dort in der "
         "Fragestunde der Einwohnerinnen und Einwohner gern eine Frage zum Haushalt stellen."),
    ]),
    "hausnummer": ("bauaufsicht", [
        ("Zuteilung einer Hausnummer",
         "unser Neubau auf dem Flurstück 412/7 am Lerchenberg ist bald bezugsfertig. Wir beantragen die "
         "Zuteilung einer Hausnummer, damit wir uns ummelden und die Post erhalten können."),
        ("Hausnummer für das Hinterhaus",
         "auf unserem Grundstück steht seit dem Umbau ein zweites Wohngebäude im Hinterhof. Der Paketdienst "
         "findet es nicht. Können Sie dem Hinterhaus eine eigene Hausnummer, etwa 14a, vergeben?"),
        ("Hausnummerierung geändert?",
         "wir haben ein Schreiben erhalten, wonach sich unsere Hausnummer wegen einer Neunummerierung der "
         "Straße ändern soll. Warum wird umnummeriert und trägt die Stadt die Kosten für das neue Hausnummernschild?"),
        ("Vergabe Hausnummer Doppelhaushälfte",
         "für die neu errichtete Doppelhaushälfte Wiesengrund benötigen wir eine Hausnummer. Der Rohbau ist "
         "abgenommen. Bitte teilen Sie uns die vergebene Nummer schriftlich mit, der Energieversorger verlangt "
         "eine Bestätigung."),
        ("Fehlende Hausnummer am Nachbargebäude",
         "das neue Gebäude gegenüber hat noch kein Nummernschild. Rettungsdienst und Besucher klingeln "
         "ständig bei uns. Ist die Hausnummer schon zugeteilt und muss der Eigentümer das Schild anbringen?"),
        ("Bescheinigung über die Hausnummernzuteilung",
         "für den Grundbucheintrag benötige ich eine amtliche Bescheinigung, dass unserem Grundstück die "
         "Hausnummer 3b zugeteilt wurde. Die Vergabe erfolgte vermutlich im letzten Jahr."),
    ]),
    # kinds added in the sixth session: fewer shared words between senders (synonyms, other occasions of the
    # kind), as independent letters of one kind have
    "defibrillator": ("ordnungsamt", [
        ("Defibrillator am Marktplatz",
         "in unserer Nachbarschaft leben viele ältere Menschen. Wir regen an, am Marktplatz einen öffentlich "
         "zugänglichen Defibrillator aufzuhängen. Im Notfall zählt jede Minute bis der Rettungswagen kommt."),
        ("Laien-Defi im Sportpark",
         "nach einem Herzstillstand eines Zuschauers beim Fußballturnier fragen wir, ob die Stadt am Sportpark "
         "ein AED-Gerät bereitstellen kann. Unser Verein würde die Wartung des Defis übernehmen."),
        ("Standorte von Defibrillatoren",
         "gibt es in Musterstadt eine Karte, wo Defibrillatoren hängen? Ich bin Ersthelfer und möchte wissen, "
         "welche Geräte rund um die Uhr erreichbar sind."),
        ("Spende eines AED",
         "unsere Apotheke möchte der Stadt ein automatisiertes externes Wiederbelebungsgerät schenken. Wer "
         "entscheidet über den Standort und wer kontrolliert Akku und Elektroden?"),
        ("Gerät zur Wiederbelebung am Bahnhof defekt",
         "der Kasten mit dem Defibrillator am Bahnhofsvorplatz ist aufgebrochen, das Gerät fehlt. Bitte "
         "sorgen Sie für Ersatz, bevor jemand mit Herzstillstand darauf angewiesen ist."),
        ("Schulung Herzdruckmassage",
         "unser Seniorentreff wünscht eine Einweisung in die Reanimation mit dem neuen AED in der Stadthalle. "
         "Kann die Stadt eine Schulung vermitteln?"),
    ]),
    "buecherschrank": ("schulamt", [
        ("Offener Bücherschrank im Stadtpark",
         "wir möchten im Stadtpark einen offenen Bücherschrank aufstellen, in den jeder Bücher legen und "
         "herausnehmen kann. Eine Schreinerei baut ihn kostenlos. Brauchen wir dafür eine Erlaubnis?"),
        ("Bücherzelle in der alten Telefonzelle",
         "die ausgediente Telefonzelle am Lindenplatz könnte eine Bücherzelle werden. Unser Leseclub würde "
         "sie betreuen und Romane, Kinderbücher und Sachbücher hineinstellen."),
        ("Tauschregal verschmutzt",
         "das Büchertauschregal vor der Bücherei ist voller nasser Zeitschriften und Müll. Wer kümmert sich "
         "darum? Früher war es ein schöner Ort zum Stöbern."),
        ("Lesestoff zum Mitnehmen",
         "ich habe drei Kisten Romane aus einem Nachlass. Darf ich sie in den Bücherschrank am Rathaus legen "
         "oder gibt es eine andere Stelle, die Bücherspenden annimmt?"),
        ("Patenschaft für die Bücherbox",
         "als pensionierte Lehrerin würde ich die Pflege der Bücherbox in der Siedlung Sonnenhang übernehmen: "
         "aussortieren, ordnen, kleine Lesungen für Kinder."),
        ("Zweiter Bücherschrank für die Südstadt",
         "der Bücherschrank in der Innenstadt wird rege genutzt. In der Südstadt fehlt so ein Angebot zum "
         "Tauschen von Büchern. Kann die Stadt einen Standort nennen?"),
    ]),
    "imkerei": ("umweltamt", [
        ("Bienenvölker auf städtischer Wiese",
         "ich bin Hobbyimker und suche einen Platz für vier Bienenvölker. Die Streuobstwiese am Mühlbach "
         "gehört der Stadt. Wäre eine Aufstellung der Beuten dort möglich?"),
        ("Bienenschwarm im Garten",
         "in unserer Hecke hängt seit heute Morgen ein großer Schwarm. Die Kinder haben Angst. Gibt es einen "
         "Imker, den die Stadt vermitteln kann, der die Bienen einfängt?"),
        ("Blühstreifen für Insekten",
         "wir regen an, die Rasenflächen an der Umgehungsstraße als Bienenweide einzusäen. Wildbienen und "
         "Hummeln finden in der Stadt kaum noch Nahrung."),
        ("Honig vom Rathausdach",
         "andere Städte halten Bienen auf dem Rathausdach und verkaufen den Stadthonig. Unser Imkerverein "
         "würde die Völker betreuen. Hat die Stadt Interesse?"),
        ("Faulbrut gemeldet",
         "in meinem Bienenstand wurde Amerikanische Faulbrut festgestellt. Der Tierarzt sagt, ich solle die "
         "Stadt informieren. Welche Sperrmaßnahmen gelten jetzt für die Imker im Umkreis?"),
        ("Insektenhotel und Wildbienen an der Grundschule",
         "unsere Umwelt-AG hat ein Insektenhotel gebaut und möchte es mit einer Bienenweide auf dem Grünstreifen "
         "neben dem Schulhof ergänzen. Wer muss zustimmen?"),
    ]),
    "mobilfunk": ("bauaufsicht", [
        ("Mobilfunkmast neben dem Kindergarten",
         "auf dem Dach des Hauses Gartenstraße 9 wird ein Mobilfunkmast errichtet, keine 50 Meter vom "
         "Kindergarten. Liegt dafür eine Genehmigung vor?"),
        ("Sendeanlage auf dem Nachbargrundstück",
         "seit zwei Wochen steht auf der Wiese hinter uns ein Gittermast mit Antennen. Niemand hat uns "
         "informiert. Ist diese Funkanlage zulässig und wer hat sie erlaubt?"),
        ("Antennenanlage auf unserem Mehrfamilienhaus",
         "ein Netzbetreiber möchte unser Dach mieten und dort 5G-Antennen montieren. Braucht die "
         "Eigentümergemeinschaft für die Dachantenne einen Antrag bei der Stadt?"),
        ("Funkmast: Abstand und Höhe",
         "der neue Funkmast am Ortsrand ist 40 Meter hoch. Wir bitten um Einsicht in die Unterlagen und um "
         "Auskunft, welche Abstände zu Wohnhäusern eingehalten werden müssen."),
        ("Widerspruch gegen den Sendemast",
         "wir Anwohner der Birkenallee sind gegen den geplanten Sendemast. Bitte nehmen Sie unseren "
         "Widerspruch zu den Akten und teilen Sie mit, ob der Mast schon genehmigt ist."),
        ("Mast für Handyempfang im Gewerbegebiet",
         "unsere Firma möchte auf dem eigenen Hof einen zwölf Meter hohen Mast mit Mobilfunkantenne für "
         "besseren Handyempfang aufstellen. Ist das genehmigungsfrei?"),
    ]),
}


def draw(path: Path, address: list[str], subject: str, body: str, sender: tuple[str, str, str]) -> None:
    c = canvas.Canvas(str(path), pagesize=A4)
    height = A4[1]

    def text(x: float, y: float, s: str, size: int = 10, font: str = "Helvetica") -> None:
        c.setFont(font, size)
        c.drawString(x * mm, height - y * mm, s)

    for i, line in enumerate(sender):
        text(125, 20 + 5 * i, line)
    text(20, 47, " · ".join(sender), 7)
    for i, line in enumerate(address):
        text(20, 60 + i * 4.5, line)
    text(125, 60, "Datum: 12.11.2026")
    text(25, 100, subject, 11, "Helvetica-Bold")
    y = 112.0
    for para in ["Sehr geehrte Damen und Herren,", body, "Mit freundlichen Grüßen", sender[0]]:
        for line in textwrap.wrap(para, 95):
            text(25, y, line)
            y += 5
        y += 4
    c.showPage()
    c.save()


def main() -> None:
    for k, (kind, (postbox, letters)) in enumerate(KINDS.items()):
        for i, (subject, body) in enumerate(letters):
            stem = f"DEV-{k + 1}{i + 1}"
            if (HERE / f"{stem}.pdf").exists():  # written before: keep the file that was measured
                continue
            sender = SENDERS[(i + k) % len(SENDERS)]
            draw(HERE / f"{stem}.pdf", TOWN if (i + k) % 2 else TOWN2, subject, body, sender)
            truth = {"postbox": postbox, "addressing": "town", "kind": kind, "occasion": subject,
                     "tuned_on": True}
            (HERE / f"{stem}.truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n",
                                                    encoding="utf-8")


if __name__ == "__main__":
    main()
