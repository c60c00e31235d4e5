from itertools import groupby
from typing import Any

from django.conf import settings

from inigo_sso.commands import BaseCommand, CommandError, CommandParser
from inigo_sso.failures import FAILURES

README = settings.BASE_DIR / "README.md"
START, END = "<!-- failures:start -->", "<!-- failures:end -->"


def failures_table() -> str:
    """The README's troubleshooting table, from FAILURES: one row per run of reasons that read the same."""
    rows = [
        "| what the person sees (reason code, HTTP status) | cause and fix, for support staff |",
        "|---|---|",
    ]
    for failure, group in groupby(FAILURES.items(), key=lambda item: item[1]):
        codes = ", ".join(f"`{reason}`" for reason, _failure in group)
        rows.append(f"| \u201c{_cell(failure.title)}\u201d ({codes}; {failure.status}) | {_cell(failure.fix)} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def readme_with_table(readme: str) -> str:
    before, start, rest = readme.partition(START)
    _table, end, after = rest.partition(END)
    if not start or not end:
        raise CommandError(f"README.md has no {START} ... {END} markers for the table.")
    return f"{before}{START}\n{failures_table()}\n{END}{after}"


class Command(BaseCommand):
    help = (
        "Print the README's troubleshooting table, generated from inigo_sso/failures.py. --write puts it between "
        f"the {START} and {END} markers of README.md; --check exits non-zero when README.md differs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--write", action="store_true", help="rewrite the table in README.md")
        mode.add_argument("--check", action="store_true", help="fail when README.md's table is not the generated one")

    def handle(self, *args: Any, **options: Any) -> None:
        if not (options["write"] or options["check"]):
            self.stdout.write(failures_table())
            return
        try:
            current = README.read_text()
        except OSError as exc:
            raise CommandError(f"Cannot read {README}: {exc.strerror}") from exc
        wanted = readme_with_table(current)
        if options["check"]:
            if current != wanted:
                raise CommandError("README.md's troubleshooting table differs from inigo_sso/failures.py: run "
                                   "python manage.py failures_table --write")
            self.stdout.write("README.md's troubleshooting table matches inigo_sso/failures.py.")
            return
        README.write_text(wanted)
        self.stdout.write(f"Wrote the troubleshooting table ({len(FAILURES)} reasons) to {README}.")
