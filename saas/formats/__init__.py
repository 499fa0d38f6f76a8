"""One date-time format per language on every page, chart and log (FORMAT_MODULE_PATH).

Django's own English formats mix "Nov. 30, 2026, 9:57 p.m." (long) with
"11/30/2026 9:57 p.m." (short); here each language has one way to write a
moment, with a 24-hour clock. Only output formats are set: the input
formats (what forms accept) stay Django's.
"""
