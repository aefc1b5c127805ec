"""Dispatch services: suggestions, batch assignment, overflow, coverage and the coordinator audit."""
