"""Import XLSForms as survey files: `import_form(path)` gives the YAML text and its warnings."""

from xlsform.convert import FormError, Imported, Warning, import_form  # noqa: A004

__all__ = ["FormError", "Imported", "Warning", "import_form"]
