"""Data rights: a learner downloads everything the platform holds about them, or deletes their account.

``export`` builds the zip (streamed from the database into a temporary file), ``services`` erases an
account in one transaction, ``files`` removes uploads no row references any more (after the commit,
and in ``flask uploads sweep``). Decision 0022 says what is erased and what is kept, and why.
"""
