"""Packaged data: the demo catalogue and the search lexicon."""
