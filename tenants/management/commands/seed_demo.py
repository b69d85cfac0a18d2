from typing import Any

from django.core.management.base import BaseCommand

from tenants.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create the demo enterprises, members and operator (idempotent) and print the credentials."

    def handle(self, *args: Any, **options: Any) -> None:
        people = seed_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Every demo password is: {DEMO_PASSWORD}"))
        for host, person in people:
            where = "/admin/" if person.role == "operator" else ("/console/" if person.role != "member" else "/me/")
            self.stdout.write(f"  {person.mobile}  {person.name:<18} {person.role:<8} http://{host}:8000{where}")
