"""The digitising unit's digital signature (PAdES) and certified electronic copies."""
