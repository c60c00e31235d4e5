"""The base of Inigo's management commands: arguments the database cannot store are refused with a message.

A shell cannot pass NUL, but it passes bytes that are not UTF-8, which Python turns into lone surrogates
(PEP 383); either would end a command in a database traceback instead of a sentence."""

from typing import Any

from django.core.management import base

from inigo_sso.text import is_storable

CommandError = base.CommandError
CommandParser = base.CommandParser


class BaseCommand(base.BaseCommand):
    def execute(self, *args: Any, **options: Any) -> Any:
        for value in [*args, *options.values()]:
            texts = value if isinstance(value, list | tuple) else [value]
            if any(isinstance(text, str) and not is_storable(text) for text in texts):
                raise CommandError(
                    f"An argument holds a character Inigo cannot store (NUL, or bytes that are not UTF-8): {value!r}"
                )
        return super().execute(*args, **options)
