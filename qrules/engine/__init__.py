"""Scoring engine: entries, scores, classes, explanations."""
