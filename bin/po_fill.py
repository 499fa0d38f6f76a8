"""Fill empty Russian translations from a JSON file of {"English msgid": "Russian"}.

    python bin/po_fill.py translations.json          # fills locale/ru/LC_MESSAGES/django.po
    python bin/po_fill.py --missing                  # lists msgids still untranslated

Keeps existing translations; clears the fuzzy flag of entries it fills.
"""

import json
import sys
from pathlib import Path

import polib

PO = Path(__file__).resolve().parent.parent / "locale" / "ru" / "LC_MESSAGES" / "django.po"


def main(argv):
    po = polib.pofile(str(PO))
    if argv == ["--missing"]:
        for entry in po:
            if not entry.translated() and not entry.obsolete:
                print(json.dumps(entry.msgid, ensure_ascii=False))
        return 0
    translations = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    filled = 0
    for entry in po:
        if entry.msgid in translations and (not entry.msgstr or "fuzzy" in entry.flags):
            if entry.msgid_plural:
                forms = translations[entry.msgid]
                entry.msgstr_plural = {i: form for i, form in enumerate(forms)}
            else:
                entry.msgstr = translations[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
            filled += 1
    po.save()
    missing = sum(1 for e in po if not e.translated() and not e.obsolete)
    print(f"filled {filled}, still missing {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
