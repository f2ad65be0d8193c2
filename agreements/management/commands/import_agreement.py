from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agreements import openslo
from agreements.document import DocumentError, load_document
from agreements.services import agreement_import


class Command(BaseCommand):
    help = (
        "Create or update agreements from YAML or JSON documents, or OpenSLO v1 SLOs "
        "('-' reads standard input)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")

    def handle(self, *args: Any, files: list[str], **options: Any) -> None:
        # All files or none: a bad document anywhere leaves the database unchanged.
        problems: list[str] = []
        with transaction.atomic():
            results = []
            for name in files:
                try:
                    text = (
                        sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
                    )
                except (OSError, UnicodeDecodeError) as error:
                    problems.append(f"{name}: cannot read: {error}")
                    continue
                try:
                    with transaction.atomic():
                        documents = (
                            openslo.import_text(text)
                            if openslo.is_openslo(text)
                            else [load_document(text)]
                        )
                        for document in documents:
                            results.append(
                                agreement_import(data=document, actor="import_agreement")
                            )
                except DocumentError as error:
                    label = "standard input" if name == "-" else name
                    problems.extend(
                        f"{label}: {p}: {m}" if p else f"{label}: {m}" for p, m in error.errors
                    )
            if problems:
                transaction.set_rollback(True)
        if problems:
            raise CommandError("nothing imported:\n" + "\n".join(problems))
        for result in results:
            self.stdout.write(result.summary())
