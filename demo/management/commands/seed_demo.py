import os
from typing import Any

from django.core.management.base import BaseCommand

from demo.seed import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create the demo enterprises, members and operator (idempotent) and print the credentials."

    def handle(self, *args: Any, **options: Any) -> None:
        people, notes = seed_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Every demo password is: {DEMO_PASSWORD}"))
        port = os.environ.get("PORT", "8000")  # the launcher's web port (`make run`)
        for host, person in people:
            where = "/admin/" if person.role == "operator" else ("/console/" if person.role != "member" else "/me/")
            label = f"{person.role} ({person.note})" if person.note else person.role
            self.stdout.write(f"  {person.mobile}  {person.name:<18} {label:<36} http://{host}:{port}{where}")
        for note in notes:
            self.stdout.write(note)
