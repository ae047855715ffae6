"""Import XLSForms as survey files."""
