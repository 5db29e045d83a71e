"""Whole dossiers in one scan: codes on pages, cover and separator sheets, stack splitting."""
