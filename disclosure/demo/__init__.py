"""Demo data (``manage.py seed_demo``): not part of the domain.

Everything here goes through the public services of the domain apps; no
domain app imports this package.
"""
