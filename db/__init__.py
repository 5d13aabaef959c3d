"""The application database: the read model of cases and what activities record."""
