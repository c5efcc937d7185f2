"""Foundations every other module builds on: errors, text and file handling, sizes, paths, fonts.

None of these imports anything model-side; the parsers, scorers and frame sampler need only them.
"""
