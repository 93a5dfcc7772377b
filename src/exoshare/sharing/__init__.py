"""Data sharing: consent per purpose, de-identified research exports, FHIR R4 exchange."""
