"""Payers: SERTAKAN sponsors and local governments (APBD) that pay workers' dues. A payer takes a
worker over from a month, stops from a month, lists the workers it pays for and reads its
monthly statement of what it paid."""
