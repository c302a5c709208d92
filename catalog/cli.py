"""Management commands that speak the operator's language.

A command run from a shell answers in the language of that shell, as ``ls``
and ``git`` do: the first of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is
set (``fr_FR.UTF-8`` → French), or the shop's default language when that is
``C``/``POSIX``, unset, or a language the shop does not speak.
``ECHOPPE_LANGUAGE`` overrides them (``fr`` or ``en``) for a shell whose locale
is set for other programs. The language covers the
command's messages, its errors and its ``--help``; data a command prints for
other programs (CSV, JSON lines, a URL) is the same in every language.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation
from django.utils.translation import gettext

from catalog.l10n import language_or_default

_ENVIRONMENT = ("ECHOPPE_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def shell_language(environ: Mapping[str, str] | None = None) -> str:
    """The shop's language closest to the shell's locale (``C`` and ``POSIX`` say nothing)."""
    found: Mapping[str, str] = os.environ if environ is None else environ
    for name in _ENVIRONMENT:
        value = (found.get(name) or "").split(".")[0].split("@")[0]
        if value in ("C", "POSIX"):  # the plain locale: the shop's default language
            break
        if value:
            return language_or_default(value.replace("_", "-").lower())
    return language_or_default(None)


class PeopleCommand(BaseCommand):
    """A command whose messages are read by a person: run in the shell's language.

    ``help`` and each argument's help are marked with ``gettext_noop`` (plain text
    to the type checker and to argparse) and translated here, when the parser is
    built under the shell's language.
    """

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        self.help = gettext(self.help)
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        for action in parser._actions:
            if action.help and action.help is not argparse.SUPPRESS:
                action.help = gettext(action.help)
        return parser

    def run_from_argv(self, argv: list[str]) -> None:
        with translation.override(shell_language()):
            super().run_from_argv(argv)

    def execute(self, *args: Any, **options: Any) -> str | None:
        with translation.override(shell_language()):
            return super().execute(*args, **options)
