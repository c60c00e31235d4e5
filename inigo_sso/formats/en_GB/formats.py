"""One date format everywhere (pages, admin lists, admin read-only fields): "1 Dec 2026, 11:04:05 UTC".

Django reads locale formats before the settings of the same name, so the format lives here (FORMAT_MODULE_PATH)
and in settings (for code that reads settings directly)."""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i:s"
DATETIME_FORMAT = "j M Y, H:i:s T"
SHORT_DATETIME_FORMAT = "j M Y, H:i:s T"
