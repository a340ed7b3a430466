"""Server-rendered pages for groups and facility staff (Jinja2, htmx, Babel)."""
