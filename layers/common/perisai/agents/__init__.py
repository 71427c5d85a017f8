"""Agen Perisai registry: partners register their agents (codes unique per partner, whatever
their case), deactivate and reactivate them; enrollments may name only an active agent of the
enrolling partner; a daily job flags agents without acquisitions or collections for 3 whole
months (policy data). Stored in the participants table as ``AGENTS / <partner_id>#<CODE>``."""
