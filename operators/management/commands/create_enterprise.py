from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import account_by_mobile
from core.services import CreatorDetails, enterprise_create


class Command(BaseCommand):
    help = "Create an enterprise (schema cloned from the template) owned by an existing account (TEN-2)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True, help="The enterprise's name.")
        parser.add_argument("--slug", required=True, help="Short name; the host becomes <slug>.<suffix>.")
        parser.add_argument("--owner-mobile", required=True, help="Mobile number of the owner's account.")
        parser.add_argument("--owner-name", default="", help="The owner's name as recorded at creation.")
        parser.add_argument("--domain", default=None, help="Host name (default <slug>.PORTAL_DOMAIN_SUFFIX).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            owner = account_by_mobile(mobile=options["owner_mobile"])
            if owner is None:
                raise ValidationError({"owner_mobile": ["No account has this mobile number."]})
            enterprise = enterprise_create(
                name=options["name"],
                slug=options["slug"],
                owner=owner,
                creator=CreatorDetails(name=options["owner_name"] or owner.display_name, email=owner.email),
                domain=options["domain"],
            )
        except ValidationError as error:
            lines = (
                [f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()]
                if hasattr(error, "error_dict")
                else error.messages
            )
            raise CommandError("Enterprise not created.\n" + "\n".join(lines)) from error
        domain = enterprise.get_primary_domain()
        self.stdout.write(
            self.style.SUCCESS(f"Created {enterprise.name} (schema {enterprise.schema_name}) at {domain}")
        )
