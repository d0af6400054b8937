"""Database plumbing: declarative base, portable types, engines, migrations."""
