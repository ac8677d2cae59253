"""Credentials: Open Badges 3.0 verifiable credentials, signed with a Data Integrity proof.

Built so far (issue 5, in progress): the bundled JSON-LD contexts (``contexts/``), issuer keys as
Multikey and did:key (``keys.py``) and eddsa-rdfc-2022 proofs (``proof.py``), all free of Flask and
the database. The award rules, issuance, status lists and pages come next.
"""
