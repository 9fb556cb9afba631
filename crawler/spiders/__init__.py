"""Spiders of newsarchive."""
