"""Console pages (`/console/`), one module per sub-domain; every view derives from
tenants.views.ConsoleView and declares its data category."""
