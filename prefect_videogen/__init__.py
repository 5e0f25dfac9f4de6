"""prefect-videogen."""
