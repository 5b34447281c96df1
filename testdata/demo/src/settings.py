import os

# Documentation values and placeholders: secgate does not report these.
EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://user:${DB_PASSWORD}@localhost/shop")
