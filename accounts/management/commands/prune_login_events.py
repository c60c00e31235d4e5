from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import LoginEvent
from inigo_sso.commands import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Delete login events older than --days days, and print how many were deleted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, required=True, help="keep the events of the last N days")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days < 1:
            # 0 or less would delete every event, including the ones support staff are reading right now.
            raise CommandError("--days must be 1 or more.")
        cutoff = timezone.now() - timedelta(days=days)
        # One DELETE statement: nothing refers to login events and no signal listens, so Django does not load them.
        deleted, _per_model = LoginEvent.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(
            f"Deleted {deleted} login event{'' if deleted == 1 else 's'} older than {days} "
            f"day{'' if days == 1 else 's'} (before {cutoff:%Y-%m-%d %H:%M} UTC)."
        )
