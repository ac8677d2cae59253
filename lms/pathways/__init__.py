"""Pathway pages: a pathway's courses and, for a learner, which of their credentials they hold.

A feature package of its own because the page needs both the catalog (what the pathway stacks) and
credentials (what the learner holds), and the catalog sits below credentials (decision 0001). The
pathway files are read by lms/content, stored by lms/catalog, and earned through lms/credentials
(decision 0013). The blueprint is in views.py.
"""
