"""Verified lookup of affected domains (issue 19, part 5): a portal account
proves control of a domain, then asks which cases mention it."""
