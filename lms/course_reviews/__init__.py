"""Course reviews: a learner who completed a course rates it (1-5) and writes a short review;
instructors reply; the catalog shows the average and the count. The blueprint is in views.py.
"""
