"""Ingestion: turn files and sources into clean article records, then store them."""
