# "30 Nov 2026, 21:57": day first, month spelled out, so neither reader nor
# chart has to guess between 03/12 and 12/03.
DATE_FORMAT = SHORT_DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "j M Y, H:i"
MONTH_DAY_FORMAT = "j M"
