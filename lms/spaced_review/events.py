"""Spaced review reacts to quiz submissions: each missed question becomes (or goes back to box 1 as) a review card."""
