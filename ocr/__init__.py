"""ocr: any scan in, validated Vietnamese PDF/A "two-layer" record out.

Stages (see pipeline.py): sniff → open → per page (in parallel) load, orient,
preprocess, recognise, encode → assemble PDF/A → validate → report.
"""
