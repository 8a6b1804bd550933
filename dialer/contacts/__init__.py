"""Contact lists: CSV import, phone-number normalisation, the records a campaign dials."""
