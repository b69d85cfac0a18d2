"""django-unfold's own interface strings, for our catalogue (locale/zh_Hans): unfold 0.91.0 ships
no translations, and `makemessages --ignore=.venv` does not read its templates. Listed here with
gettext_noop so that makemessages extracts them; Django's own admin strings (most of unfold's)
are translated by Django. Never imported: the strings are looked up by unfold's templates at
render time under the same msgids. Check this list on an unfold upgrade."""

from django.utils.translation import gettext_noop, ngettext_lazy

STRINGS = (
    gettext_noop("Add row"),
    gettext_noop("After you've created a user, you’ll be able to edit more user options."),
    gettext_noop("All applications"),
    gettext_noop("Apply Filters"),
    gettext_noop("Choose file to upload"),
    gettext_noop("Click to cancel"),
    gettext_noop("Click to download"),
    gettext_noop("Dark"),
    gettext_noop("Date from"),
    gettext_noop("Date to"),
    gettext_noop("Expand row"),
    gettext_noop("False"),
    gettext_noop("General"),
    gettext_noop("Go back"),
    gettext_noop("Image preview"),
    gettext_noop("Light"),
    gettext_noop("Loading more results..."),
    gettext_noop("More actions"),
    gettext_noop("No data"),
    gettext_noop("No recent searches"),
    gettext_noop("No results found"),
    gettext_noop("No results matching your query"),
    gettext_noop("Recent searches"),
    gettext_noop("Reset filters"),
    gettext_noop("Return to site"),
    gettext_noop("Run"),
    gettext_noop("Search apps and models..."),
    gettext_noop("Select action"),
    gettext_noop("Select action to run"),
    gettext_noop("Select all rows"),
    gettext_noop("Select format"),
    gettext_noop("Select record"),
    gettext_noop("Select value"),
    gettext_noop("Submit"),
    gettext_noop("This item will be deleted."),
    gettext_noop("This page yielded into no results. Create a new item or reset your filters."),
    gettext_noop("Toggle password visibility"),
    gettext_noop("True"),
    gettext_noop("Type to search"),
    gettext_noop("You have been successfully logged out from the administration"),
    gettext_noop("Add %(name)s"),
    gettext_noop("Models in the %(name)s application"),
    gettext_noop("Select all %(total_count)s %(module_name)s"),
    gettext_noop("%(full_result_count)s total"),
    gettext_noop(" By %(filter_title)s "),  # Django's zh-Hans "以 …" reads wrongly: ours is "按…"
)
PLURALS = (
    ngettext_lazy("%(counter)s result", "%(counter)s results", "counter"),
    ngettext_lazy("Please correct the error below.", "Please correct the errors below.", "counter"),
)
